"""`mira-curator job confirm-endpoint`: the operator (admin) lets the worker send the key to a job's Base URL."""

import json
import os

from mira_core.cli import main
from mira_core.identity import Actor, Role
from mira_core.scoring import jobs
from mira_core.scoring.settings import ScorerSettings
from mira_core.storage import migrate
from mira_core.storage.engine import make_engine
from tests.reliability.builders import make_records


def test_job_confirm_endpoint_is_recorded_under_the_operator(capsys, monkeypatch):
    monkeypatch.setenv("MIRA_CURATOR", "local-op")
    eng = make_engine(os.environ["MIRA_DATABASE_URL"])
    migrate.upgrade(eng)
    make_records(eng, 1)
    cy = Actor(user_id="cy@example.org", role=Role.curator)
    job_id = jobs.start_job(eng, ScorerSettings(base_url="http://127.0.0.1:9/v1"), actor=cy)
    assert main(["job", "confirm-endpoint", job_id]) == 0
    assert "endpoint confirmed" in capsys.readouterr().out
    assert main(["job", "confirm-endpoint", job_id]) == 0
    assert "already confirmed" in capsys.readouterr().out
    assert jobs.job_progress(eng, job_id).endpoint_confirmed_by == "local-op"
    eng.dispose()
    assert main(["activity", "--json", "--kind", "job.confirm_endpoint"]) == 0
    [change] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (change["actor"], change["target_id"]) == ("local-op", job_id)
