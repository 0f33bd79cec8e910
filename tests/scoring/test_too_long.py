"""No record lost to a wrong token estimate: digit-dense records (Qwen counts digits one per token) are counted
by /tokenize near the budget, and a prompt the endpoint still refuses for its length is shortened to the count
its 400 message reports and sent once more."""

from __future__ import annotations

import pytest

from mira_core.records import Outcome, Record, Step, StepKind
from mira_core.scoring import jobs
from mira_core.scoring.budget import estimate_tokens, worst_case_tokens
from mira_core.scoring.client import ContextReport, context_report
from mira_core.scoring.prompt import CHAT_TEMPLATE_MARGIN, PromptBuilder, build_prompt
from mira_core.scoring.simulator import count_tokens_digits
from tests.app.builders import insert_records
from tests.scoring.prompt_cases import CALIBRATION, RUBRIC
from tests.scoring.test_jobs import _scores, _settings, _start, _work


@pytest.mark.parametrize(("message", "report"), [
    # vLLM before the V1 renderer (and the SIMULATED scorer)
    ("This model's maximum context length is 16384 tokens. However, you requested 122946 tokens (112946 in the "
     "messages, 10000 in the completion). Please reduce the length of the messages or completion.",
     ContextReport(112946, False, 16384)),
    ("This model's maximum context length is 1536 tokens. However, your request has 4176 input tokens. Please "
     "reduce the length of the input messages.", ContextReport(4176, False, 1536)),
    ("This model's maximum context length is 65536 tokens. However, you requested 2048 output tokens and your "
     "prompt contains at least 63489 input tokens, for a total of at least 65537 tokens. Please reduce the "
     "length of the input prompt or the number of requested output tokens.", ContextReport(63489, True, 65536)),
    ("This model's maximum context length is 65536 tokens. However, you requested 2048 output tokens and your "
     "prompt contains 70000 input tokens, for a total of 72048 tokens.", ContextReport(70000, False, 65536)),
    ("The decoder prompt (length 70001) is longer than the maximum model length of 65536. Make sure that "
     "`max_model_len` is no smaller than the number of text tokens.", ContextReport(70001, False, 65536)),
    ("This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
     ContextReport(9000, False, 8192)),
    ("Input too long for this model (max_model_len exceeded)", None),
])
def test_context_report_reads_the_count_in_every_vllm_wording(message, report):
    assert context_report(message) == report


def timing_log(lines: int, seed: int = 0) -> str:
    """A digit-dense observation (a timing log): ~29 digits in every 32 characters."""
    return "\n".join(f"{1700000000 + j * 7919 + seed} {j * 104729 % 1000003:07d} {(j + seed) * 31337:012d}"
                     for j in range(lines))


def digit_record(i: int, lines: int = 60) -> Record:
    steps = [Step(role="user", kind=StepKind.user, content=f"Speed up the benchmark {i}")]
    for k in range(6):
        steps.append(Step(role="agent", kind=StepKind.action, tool_name="run", tool_args={"command": f"bench {k}"}))
        steps.append(Step(role="environment", kind=StepKind.observation, tool_name="run",
                          content=timing_log(lines, seed=1000 * i + k), exit_code=0))
    steps.append(Step(role="agent", kind=StepKind.message, content="Done: 12% faster"))
    return Record(record_id=f"digits{i:04d}", source="davinc_dev", format="t", issue="The benchmark is slow",
                  steps=steps, patch="diff --git a/b.py b/b.py\n-x\n+y\n", outcome=Outcome.resolved)


def test_a_digit_dense_record_is_under_counted_by_the_estimate():
    """The premise: at one token per digit the estimate says 'fits' for a record twice the budget."""
    user = build_prompt(digit_record(0), RUBRIC, CALIBRATION, max_model_len=10**6).user
    assert count_tokens_digits(user) > 2 * estimate_tokens(user)
    assert count_tokens_digits(user) <= worst_case_tokens(user)  # one byte per token stays an upper bound


def test_refit_shortens_a_refused_prompt_to_the_reported_count():
    builder = PromptBuilder(RUBRIC, CALIBRATION, max_model_len=8000, max_tokens=512)  # no tokenizer: estimates
    sent = builder.build(digit_record(1))
    limit = 8000 - 512 - CHAT_TEMPLATE_MARGIN
    real = count_tokens_digits(sent.system + "\n" + sent.user)
    assert not sent.shortened and real > 8000  # the estimate let it through; the endpoint refuses it
    again = builder.refit(digit_record(1), sent, real, reported_max_len=8000)
    assert again is not None and again.shortened and again.elided_tokens > 0
    assert count_tokens_digits(again.system + "\n" + again.user) <= limit
    assert "tokens of observation elided by MIRA Curator" in again.user and "Done: 12% faster" in again.user
    # a lower bound only ("at least"): the user message is counted at one token per byte, an upper bound
    bound = builder.refit(digit_record(1), sent, 7489, at_least=True)
    assert bound is not None and builder.fixed.system_tokens + worst_case_tokens(bound.user) <= limit
    assert bound.elided_tokens > again.elided_tokens  # cuts more than the exact count needed


def test_refused_digit_records_are_shortened_and_scored_not_dropped(engine, sim):
    recs = [digit_record(i) for i in range(4)]
    insert_records(engine, recs)
    server = sim(max_model_len=8000, digit_tokens=True, tokenize=False)  # counts as Qwen does, cannot be asked
    job_id = _start(engine, _settings(server.base_url, max_tokens=512), record_ids=[r.record_id for r in recs])
    _work(engine)
    prog = jobs.job_progress(engine, job_id)
    assert (prog.done, prog.counts["too_long"], prog.counts["failed"]) == (4, 0, 0)
    assert server.stats.counts["too_long"] == 4 and server.stats.counts["ok"] == 4  # refused once, then fitted
    for row in _scores(engine, job_id):
        assert row["shortened"] and row["elided_tokens"] > 0 and row["complete"]


def test_with_tokenize_digit_records_are_counted_and_never_refused(sqlite_engine, sim):
    recs = [digit_record(i) for i in range(3)]
    insert_records(sqlite_engine, recs)
    server = sim(max_model_len=8000, digit_tokens=True)
    job_id = _start(sqlite_engine, _settings(server.base_url, max_tokens=512), record_ids=[r.record_id for r in recs])
    _work(sqlite_engine)
    assert jobs.job_progress(sqlite_engine, job_id).done == 3
    assert "too_long" not in server.stats.counts and server.stats.counts["tokenize"] >= 3
    assert all(row["shortened"] for row in _scores(sqlite_engine, job_id))
