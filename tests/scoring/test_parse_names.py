"""The parser checks the name on a slot line against its slot: another slot's name is not taken silently."""

from __future__ import annotations

import pytest

from mira_core.scoring.parse import parse_scorer_output
from tests.scoring.test_parse import RUBRIC, card_output, kinds


def with_line(slot: str, line: str) -> str:
    """The card's answer with the line of `slot` replaced."""
    return "\n".join(line if ln.startswith(f"[{slot}] ") else ln for ln in card_output().split("\n"))


@pytest.mark.parametrize(("slot", "line", "other"), [
    ("A14", "[A14] Error Recovery: 7/10 — reads the traceback", "A7"),
    ("A15", "[A15] Tool Selection: 6/10 — the unqualified name is A14's", "A14"),
    ("A1", "[A1] Plan Quality / Reasoning Transparency: 6/10 — A4's name, without A1's qualifier", "A4"),
    ("A14", "| [A14] | error  recovery | 7/10 | a table row, other case and spacing |", "A7"),
    ("A14", "**[A14] Error Recovery**: 7/10 — emphasis", "A7"),
])
def test_another_slots_name_is_a_problem_and_the_score_is_not_taken(slot, line, other):
    p = parse_scorer_output(with_line(slot, line))
    assert kinds(p, slot) == ["wrong_name"]
    assert p.dimensions[slot].score is None and p.dimensions[slot].rationale  # the rationale stays readable
    assert not p.complete  # one dimension invalid: a partial score
    [problem] = [q for q in p.problems if q.slot == slot]
    assert f"names {other}" in problem.detail and problem.detail.startswith("line ")
    assert all(p.dimensions[s].score == 7.0 for s in RUBRIC.slots() if s != slot)


@pytest.mark.parametrize("line", [
    "[A4] Plan Quality / Reasoning Transparency: 7/10 — exact",
    "[a4] plan quality / reasoning transparency: 7/10 — case",
    "[A4] Plan Quality: 7/10 — a leading part of the name",
    "[A4]: 7/10 — no name at all",
    "[A4] 7/10 — no name, no separator",
])
def test_the_slots_own_name_its_abbreviation_or_none_are_accepted(line):
    p = parse_scorer_output(with_line("A4", line))
    assert p.complete and kinds(p, "A4") == [] and p.dimensions["A4"].score == 7.0


def test_an_unknown_name_is_reported_and_the_score_kept():
    """Not another slot's name: nothing says the line answers another dimension, so only report it."""
    p = parse_scorer_output(with_line("A3", "[A3] Issue resolved: 8/10 — paraphrased name"))
    assert kinds(p, "A3") == ["unexpected_name"] and p.dimensions["A3"].score == 8.0 and p.complete
    # a prefix that stops inside a word is not an abbreviation
    p = parse_scorer_output(with_line("A3", "[A3] Goal Achiev: 8/10 — cut"))
    assert kinds(p, "A3") == ["unexpected_name"]


def test_names_come_from_the_rubric_given():
    text = "[A1] alpha: 5/10 — x\n[A2] alpha: 6/10 — y\noverall: 50\ntraining_recommendation: drop\n" \
           "domain_tag: t\nbrief: b"
    p = parse_scorer_output(text, slots=("A1", "A2"), names={"A1": "alpha", "A2": "beta"})
    assert kinds(p, "A1") == [] and kinds(p, "A2") == ["wrong_name"] and not p.complete
    assert parse_scorer_output(text, slots=("A1", "A2"), names={}).complete  # no names: no check


def test_the_worker_checks_names_against_the_rubric_of_its_prompt():
    from mira_core.scoring.client import CallResult
    from mira_core.scoring.prompt import build_prompt
    from mira_core.scoring.score_rows import new_score
    from tests.scoring.prompt_cases import CALIBRATION, rich_record

    prompt = build_prompt(rich_record(), RUBRIC, CALIBRATION)
    names = {a.slot: a.name for a in RUBRIC.anchors}
    row = new_score("r1", "j1", prompt, CallResult("ok", text=with_line("A14", "[A14] Error Recovery: 7/10 — x")),
                    "m", names=names)
    assert not row.complete and row.slots["A14"] is None and '"wrong_name"' in row.parsed_json
