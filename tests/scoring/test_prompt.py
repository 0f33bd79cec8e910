"""The prompt builder: card template with exact names, faithful record rendering, version hash, budget."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mira_core.errors import ConfigError
from mira_core.records import Outcome, Record, Step, StepKind
from mira_core.records import TestReport as ReportCounts
from mira_core.scoring.budget import estimate_tokens, worst_case_tokens
from mira_core.scoring.parse import parse_scorer_output
from mira_core.scoring.prompt import (
    _MAX_SHORTEN_ROUNDS,
    CHAT_TEMPLATE_MARGIN,
    PromptBuilder,
    build_prompt,
    prompt_version,
)
from mira_core.scoring.rubric import CalibrationRef, load_calibration, load_rubric
from mira_core.settings import Settings

RUBRIC = load_rubric(Settings().anchors_path)
CALIBRATION = load_calibration(Settings().calibration_path)


def make_record(n_steps: int = 6, obs_len: int = 200, issue: str = "ISSUE-START the parser crashes ISSUE-END",
                patch: str = "diff --git a/x.py b/x.py\n-old\n+new  PATCH-END") -> Record:
    steps = [Step(role="system", kind=StepKind.system, content="FIRST-STEP you are an agent")]
    for i in range(1, n_steps - 1):
        if i % 2:
            steps.append(Step(role="assistant", kind=StepKind.action, content=f"thinking {i}", tool_name="bash",
                              tool_args={"command": f"pytest -k t{i}"}))
        else:
            steps.append(Step(role="tool", kind=StepKind.observation, content=f"OBS{i} " + "o" * obs_len,
                              tool_name="bash", exit_code=1, error=True))
    steps.append(Step(role="assistant", kind=StepKind.message, content="LAST-STEP done"))
    return Record(record_id="rec1", source="swe_qa", format="t", repo="psf/requests", instance_id="psf__requests-1",
                  issue=issue, steps=steps, patch=patch, outcome=Outcome.resolved,
                  report=ReportCounts(fail_to_pass_success=2, fail_to_pass_failure=0), exit_status="submitted")


def test_user_message_has_the_card_template_with_exact_names():
    p = build_prompt(make_record(), RUBRIC, CALIBRATION)
    lines = p.user.split("\n")
    for a in RUBRIC.anchors:
        assert f"[{a.slot}] {a.name}: <score>/10 — <justification>" in lines
    tail = lines[-4:]
    assert tail == ["overall: <0-100>", "training_recommendation: <keep | downsample | drop>",
                    "domain_tag: <short tag>", "brief: <one-sentence summary>"]


def test_system_message_has_rubric_then_every_calibration_reference():
    p = build_prompt(make_record(), RUBRIC, CALIBRATION)
    assert p.system.index("[A15] Tool Selection (Safety & Scope)") < p.system.index("Calibration references")
    for ref in CALIBRATION:
        assert ref.excerpt in p.system
    assert "Record" not in p.system  # nothing record-specific: the prefix is shared by every request


def test_record_is_rendered_faithfully():
    rec = make_record()
    p = build_prompt(rec, RUBRIC, CALIBRATION)
    assert not p.shortened and p.elided_tokens == 0
    u = p.user
    assert rec.issue in u and rec.patch in u
    for i, s in enumerate(rec.steps, start=1):
        assert s.content in u
        assert f"[step {i}] {s.kind.value} ({s.role})" in u
    assert "tool: bash" in u and "command: pytest -k t1" in u and "exit_code: 1" in u and "· error" in u
    assert "outcome: resolved" in u and "exit_status: submitted" in u and "fail_to_pass_success=2" in u
    assert "repo: psf/requests" in u and "instance: psf__requests-1" in u
    # order: issue, steps, patch, outcome, answer template
    assert u.index("ISSUE-START") < u.index("FIRST-STEP") < u.index("LAST-STEP") < u.index("PATCH-END") \
        < u.index("outcome:") < u.index("[A1] ")


def test_multiline_and_non_string_args():
    rec = make_record(n_steps=3)
    rec.steps[1].tool_args = {"path": "a.py", "new_str": "line1\nline2", "lines": [1, 2]}
    u = build_prompt(rec, RUBRIC, CALIBRATION).user
    assert "  new_str:\nline1\nline2" in u and "  lines: [1, 2]" in u


def test_the_template_parses_as_all_slots_present_but_invalid():
    # the answer template itself is not a valid answer: every score is "<score>"
    p = parse_scorer_output(build_prompt(make_record(), RUBRIC, CALIBRATION).user)
    assert not p.complete
    assert all(d.score is None for d in p.dimensions.values())


def test_version_is_stable_and_changes_with_names_and_calibration():
    v = prompt_version(RUBRIC, CALIBRATION)
    assert len(v) == 12 and int(v, 16) >= 0
    assert build_prompt(make_record(), RUBRIC, CALIBRATION).prompt_version == v
    assert build_prompt(make_record(n_steps=9), RUBRIC, CALIBRATION).prompt_version == v  # record is not hashed

    renamed = RUBRIC.model_copy(deep=True)
    renamed.anchors[10].name = "Safety & Scope"
    assert prompt_version(renamed, CALIBRATION) != v

    changed = [c.model_copy() for c in CALIBRATION]
    changed[0] = changed[0].model_copy(update={"score": 8.0})
    assert prompt_version(RUBRIC, changed) != v
    assert prompt_version(RUBRIC, CALIBRATION[:-1]) != v

    described = RUBRIC.model_copy(deep=True)
    described.anchors[0].description = "not shown to the scorer"
    assert prompt_version(described, CALIBRATION) == v  # descriptions are for curators, not in the prompt


def fake_count(text: str) -> int:
    """A deterministic tokenizer unlike the estimate: ~1 token per 3.3 chars plus one per line."""
    noise = int(hashlib.md5(text.encode("utf-8", "surrogatepass")).hexdigest()[:1], 16)
    return len(text) * 10 // 33 + text.count("\n") + noise


def test_over_budget_record_is_shortened_to_fit_with_a_visible_marker():
    rec = make_record(n_steps=60, obs_len=4000)
    p = build_prompt(rec, RUBRIC, CALIBRATION, max_model_len=16_000, max_tokens=2048, count_tokens=fake_count)
    assert p.shortened and p.elided_tokens > 0
    assert fake_count(p.system) + fake_count(p.user) <= 16_000 - 2048 - CHAT_TEMPLATE_MARGIN
    assert p.prompt_tokens == fake_count(p.system) + fake_count(p.user)
    assert "tokens of observation elided by MIRA Curator ...]" in p.user
    assert p.prompt_tokens >= 0.95 * (16_000 - 2048 - CHAT_TEMPLATE_MARGIN)  # cut little more than needed
    assert "middle steps elided" not in p.user  # observations alone were enough
    # kept: issue, first and last steps, final patch, the whole template
    for kept in (rec.issue, rec.steps[0].content, rec.steps[-1].content, rec.patch, "[A15] Tool Selection (Safety"):
        assert kept in p.user


def test_count_tokens_is_called_a_bounded_number_of_times():
    calls = []

    def counting(text: str) -> int:
        calls.append(len(text))
        return fake_count(text)

    build_prompt(make_record(n_steps=200, obs_len=3000), RUBRIC, CALIBRATION, max_model_len=20_000,
                 count_tokens=counting)
    assert len(calls) <= 2 + _MAX_SHORTEN_ROUNDS + 1  # system, full user, bounded shortened attempts


def test_budget_too_small_for_the_template_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"rec1.*cannot fit max_model_len=3000"):
        build_prompt(make_record(), RUBRIC, CALIBRATION, max_model_len=3000, max_tokens=2048)


def test_empty_calibration_and_no_steps():
    rec = make_record().model_copy(update={"steps": [], "patch": ""})
    p = build_prompt(rec, RUBRIC, [])
    assert "Calibration references" not in p.system
    assert "(no steps)" in p.user and "(no patch)" in p.user


def test_calibration_on_an_unknown_slot_is_shown_by_slot():
    p = build_prompt(make_record(), RUBRIC, [CalibrationRef(slot="A3", score=7.5, excerpt="ex")])
    assert "1. [A3] Goal Achievement: 7.5/10" in p.system


@st.composite
def records(draw):
    n = draw(st.integers(0, 40))
    steps = []
    for i in range(n):
        kind = draw(st.sampled_from(list(StepKind)))
        size = draw(st.sampled_from([0, 10, 500, 5000, 40_000]))
        steps.append(Step(role="r", kind=kind, content=f"S{i}-" + draw(st.sampled_from("xé中\n ")) * size,
                          tool_args={"a": "v" * draw(st.sampled_from([0, 100, 3000]))} if draw(st.booleans()) else None))
    issue = "ISSUE " + "i" * draw(st.sampled_from([0, 100, 5000, 60_000]))
    patch = "PATCH " + "p\n" * draw(st.sampled_from([0, 100, 5000, 60_000]))
    return Record(record_id="r", source="swe_qa", format="t", issue=issue, steps=steps, patch=patch)


@settings(max_examples=60, deadline=None)
@given(records(), st.sampled_from([6000, 9000, 16_000, 65_536]), st.sampled_from([fake_count, None]))
def test_returned_prompt_always_fits(rec, max_model_len, count):
    counter = count or estimate_tokens
    p = build_prompt(rec, RUBRIC, CALIBRATION, max_model_len=max_model_len, max_tokens=2048, count_tokens=count)
    total = counter(p.system) + counter(p.user)
    limit = max_model_len - 2048 - CHAT_TEMPLATE_MARGIN
    assert total <= limit
    if not p.shortened and counter(p.system) + worst_case_tokens(p.user) <= limit:
        assert p.prompt_tokens == counter(p.system) + estimate_tokens(p.user)  # fits at 1 byte/token: not counted
    else:
        assert p.prompt_tokens == total
    full = build_prompt(rec, RUBRIC, CALIBRATION, max_model_len=10**9, count_tokens=count)
    assert p.shortened == (p.user != full.user)
    assert (p.elided_tokens > 0) == p.shortened
    if p.shortened:
        assert "elided by MIRA Curator ...]" in p.user
    assert p.user.startswith("Score this") and p.user.endswith("brief: <one-sentence summary>")
    assert "ISSUE" in p.user and "PATCH" in p.user
    if rec.steps:  # first and last steps' title lines are always kept
        assert "\n[step 1] " in p.user and f"\n[step {len(rec.steps)}] " in p.user


def test_simulated_scorer_answers_our_prompt_in_a_format_the_parser_reads_completely():
    from mira_core.scoring.simulator import simulated_answer

    p = build_prompt(make_record(n_steps=40, obs_len=3000), RUBRIC, CALIBRATION, max_model_len=12_000)
    answer = simulated_answer(p.user)
    parsed = parse_scorer_output(answer)
    assert parsed.complete, parsed.problems
    for a in RUBRIC.anchors:  # the simulator read the exact names from our template
        assert f"[{a.slot}] {a.name}: " in answer


def test_the_tokenizer_is_asked_whenever_one_byte_per_token_could_exceed_the_budget():
    """Digit-dense text is ~1 byte/token on Qwen: the 2.7-byte estimate must not decide alone near the budget."""
    calls: list[int] = []

    def counting(text: str) -> int:
        calls.append(len(text))
        return len(text.encode())  # a tokenizer at exactly 1 byte per token (digits one by one)

    builder = PromptBuilder(RUBRIC, CALIBRATION, max_model_len=12_000, max_tokens=1000, count_tokens=counting)
    builder.build(make_record(obs_len=10))
    assert len(calls) == 2  # the fixed part (system, empty record), once per builder; the record fits at 1 byte/token
    digits = make_record(obs_len=0)
    digits.steps[2].content = "1234567890" * 700  # 7,000 bytes: estimate ~2,600 tokens, really 7,000
    assert estimate_tokens(build_prompt(digits, RUBRIC, CALIBRATION, max_model_len=10**6).user) < 12_000 // 2
    p = builder.build(digits)
    assert len(calls) >= 3 and p.shortened  # counted, found too long, shortened by the rule
    assert counting(p.system) + counting(p.user) <= 12_000 - 1000 - CHAT_TEMPLATE_MARGIN
