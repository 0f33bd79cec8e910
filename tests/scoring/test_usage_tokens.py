"""Each score keeps the endpoint's own prompt token count (`usage.prompt_tokens`) and the record's tokens
measured from it (usage less the prompt's fixed part, plus what was elided)."""

from __future__ import annotations

from mira_core.scoring import jobs
from mira_core.scoring.prompt import build_prompt
from mira_core.scoring.prompt_template import EMPTY_RECORD
from mira_core.scoring.simulator import count_tokens
from mira_core.selection.store import load_selection_data
from mira_core.storage.engine import read_conn
from tests.app.builders import insert_records, long_record
from tests.scoring.prompt_cases import CALIBRATION, RUBRIC, rich_record
from tests.scoring.test_jobs import _scores, _settings, _start, _work


def test_usage_prompt_tokens_and_the_measured_record_tokens_are_stored(engine, sim):
    small, big = rich_record(), long_record(200)
    insert_records(engine, [small, big])
    server = sim(max_model_len=6000)  # the long record is shortened; the rich one fits whole
    job_id = _start(engine, _settings(server.base_url, max_tokens=512), record_ids=[small.record_id, big.record_id])
    _work(engine)
    assert jobs.job_progress(engine, job_id).done == 2
    rows = {r["record_id"]: r for r in _scores(engine, job_id)}

    p = build_prompt(small, RUBRIC, CALIBRATION)  # the same messages the worker sent (no shortening)
    usage = count_tokens(p.system + "\n" + p.user)  # the simulator's count of the two messages
    fixed = count_tokens(p.system) + count_tokens(_empty_user())  # system + an empty record's user message
    row = rows[small.record_id]
    assert row["usage_prompt_tokens"] == usage and row["record_tokens"] == usage - fixed
    assert row["prompt_tokens"] is not None  # our own count stays in its column

    row = rows[big.record_id]
    assert row["shortened"] and row["usage_prompt_tokens"] <= 6000 - 512
    assert row["record_tokens"] == row["usage_prompt_tokens"] - fixed + row["elided_tokens"]
    with read_conn(engine) as conn:
        data = load_selection_data(conn).data
    assert data.token_figures().startswith("Token figures: 2 records measured by the scorer, 0 estimated")


def _empty_user() -> str:
    from mira_core.scoring.prompt import default_template
    from mira_core.scoring.prompt_template import anchor_variables, calibration_variables

    variables = {"anchors": anchor_variables(RUBRIC), "calibration": calibration_variables(RUBRIC, CALIBRATION),
                 "record": EMPTY_RECORD}
    return default_template().render("user", variables)
