"""The scorer-output parser: every tolerated variant, every strict rejection, and property tests."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mira_core.scoring.parse import (
    DimScore,
    ParsedScore,
    format_score,
    parse_scorer_output,
    render_scorer_output,
)
from mira_core.scoring.rubric import load_rubric
from mira_core.settings import Settings

RUBRIC = load_rubric(Settings().anchors_path)
SLOTS = RUBRIC.slots()


def card_output(scores: dict[str, str] | None = None, *, sep: str = " — ", tail: str | None = None) -> str:
    """A well-formed answer in the card's format; `scores` overrides the score text of some slots."""
    scores = scores or {}
    lines = [f"[{a.slot}] {a.name}: {scores.get(a.slot, '7')}/10{sep}rationale for {a.slot}" for a in RUBRIC.anchors]
    lines.append(tail if tail is not None else
                 "overall: 74\ntraining_recommendation: keep\ndomain_tag: django-orm\nbrief: Fixes the query bug.")
    return "\n".join(lines)


def kinds(parsed: ParsedScore, slot: str | None = None) -> list[str]:
    return [p.kind for p in parsed.problems if p.slot == slot]


def test_card_format_is_complete():
    p = parse_scorer_output(card_output())
    assert p.complete
    assert p.problems == []
    assert list(p.dimensions) == SLOTS
    assert p.dimensions["A3"] == DimScore(score=7.0, rationale="rationale for A3")
    assert (p.overall, p.training_recommendation, p.domain_tag, p.brief) == (
        74, "keep", "django-orm", "Fixes the query bug.")


@pytest.mark.parametrize("line,score,rationale", [
    ("**[A4] Plan Quality / Reasoning Transparency**: 7/10 — clear plan", 7.0, "clear plan"),
    ("**[A4] Plan Quality / Reasoning Transparency: 7/10 — clear plan**", 7.0, "clear plan"),
    ("- **[A4]** Plan Quality / Reasoning Transparency: **7/10** – clear plan", 7.0, "clear plan"),
    ("[A4] Plan Quality / Reasoning Transparency: 7.5/10 - clear plan", 7.5, "clear plan"),
    ("[A4] Plan Quality / Reasoning Transparency: 7.5 / 10 : clear plan", 7.5, "clear plan"),
    ("[A4] Plan Quality / Reasoning Transparency – 6 – ok", 6.0, "ok"),
    ("   [A4]   Plan Quality / Reasoning Transparency :   8/10   —   spaced  ", 8.0, "spaced"),
    ("[A4] Plan Quality / Reasoning Transparency: 9 — no denominator", 9.0, "no denominator"),
    ("[A4] Plan Quality / Reasoning Transparency: 10/10", 10.0, ""),
    ("[A4] Plan Quality / Reasoning Transparency: 0/10 — nothing", 0.0, "nothing"),
    ("### [A4] Plan Quality / Reasoning Transparency: 3/10 — heading", 3.0, "heading"),
    ("4. [A4] Plan Quality / Reasoning Transparency: 3/10 — numbered", 3.0, "numbered"),
    ("[a4] plan quality: 5/10 — lower case", 5.0, "lower case"),
    ("[A4] Plan Quality: score 5/10 — words before the score", 5.0, "words before the score"),
    ("| [A4] | Plan Quality / Reasoning Transparency | 6/10 | a table row |", 6.0, "a table row"),
])
def test_tolerated_slot_line_variants(line, score, rationale):
    p = parse_scorer_output(line)
    assert p.dimensions["A4"] == DimScore(score=score, rationale=rationale)
    assert kinds(p, "A4") == []


def test_hyphenated_name_is_not_a_separator():
    p = parse_scorer_output("[A6] Multi-turn Coherence - 6.5 - consistent")
    assert p.dimensions["A6"] == DimScore(score=6.5, rationale="consistent")


def test_crlf_and_capitalised_summary_keys():
    text = card_output(tail="Overall: 81\r\nTraining_Recommendation: Keep\r\nDomain_Tag: flask\r\nBrief: Good.")
    p = parse_scorer_output(text.replace("\n", "\r\n"))
    assert p.complete
    assert (p.overall, p.training_recommendation, p.domain_tag, p.brief) == (81, "keep", "flask", "Good.")
    assert p.dimensions["A15"].rationale == "rationale for A15"  # no stray \r


@pytest.mark.parametrize("value,expected", [
    ("keep — high quality", "keep"),
    ("downsample (redundant exploration)", "downsample"),
    ("**DROP**.", "drop"),
    ("Keep", "keep"),
    ("keep — would not drop it", "keep"),
    ("drop (keep only if short of data)", "drop"),
])
def test_recommendation_with_a_reason(value, expected):
    assert parse_scorer_output(f"training_recommendation: {value}").training_recommendation == expected


@pytest.mark.parametrize("value", ["keeping", "maybe", "<keep | downsample | drop>", "", "retain",
                                   "keep/downsample", "keep or drop", "drop, maybe keep"])
def test_recommendation_outside_the_three_words_is_invalid(value):
    p = parse_scorer_output(card_output(tail=f"overall: 74\ntraining_recommendation: {value}\ndomain_tag: t\nbrief: b"))
    assert p.training_recommendation is None
    assert "invalid_recommendation" in kinds(p)
    assert not p.complete


@pytest.mark.parametrize("value,expected", [("74", 74), ("**80**", 80), ("80/100", 80), ("0", 0), ("100", 100),
                                            ("65 — decent", 65), ("70.", 70), ("70.0", 70)])
def test_overall_accepted(value, expected):
    assert parse_scorer_output(f"overall: {value}").overall == expected


@pytest.mark.parametrize("value", ["101", "-3", "74.5", "nan", "٧٤", "7_4", "1e2", "seventy", "9999999"])
def test_overall_invalid_is_none_with_problem(value):
    p = parse_scorer_output(f"overall: {value}")
    assert p.overall is None
    assert kinds(p) [0] == "invalid_overall"


@pytest.mark.parametrize("score,kind", [
    ("12", "out_of_range"), ("10.5", "out_of_range"), ("-1", "out_of_range"),
    ("nan", "not_a_number"), ("NaN", "not_a_number"), ("inf", "not_a_number"), ("-inf", "not_a_number"),
    ("٧", "not_a_number"), ("７", "not_a_number"), ("8_5", "not_a_number"), ("1e1", "not_a_number"),
    ("seven", "not_a_number"), ("7,5", "not_a_number"), ("0x7", "not_a_number"),
])
def test_strict_scores_are_invalid_not_guessed(score, kind):
    p = parse_scorer_output(card_output({"A4": score}))
    assert p.dimensions["A4"].score is None
    assert p.dimensions["A4"].rationale == "rationale for A4"
    assert kinds(p, "A4") == [kind]
    assert not p.complete
    assert all(p.dimensions[s].score == 7.0 for s in SLOTS if s != "A4")


def test_missing_score_is_not_taken_from_the_rationale():
    p = parse_scorer_output("[A4] Plan Quality: — added 3 tests")
    assert p.dimensions["A4"].score is None
    assert kinds(p, "A4") == ["not_a_number"]


def test_missing_slots_are_reported():
    text = "\n".join(ln for ln in card_output().split("\n") if not ln.startswith(("[A2]", "[A11]")))
    p = parse_scorer_output(text)
    assert not p.complete
    assert "A2" not in p.dimensions and "A11" not in p.dimensions
    assert [(q.slot, q.kind) for q in p.problems] == [("A2", "missing"), ("A11", "missing")]


def test_duplicate_slot_keeps_the_first_and_is_reported():
    text = card_output() + "\n[A3] Goal Achievement: 2/10 — second opinion"
    p = parse_scorer_output(text)
    assert p.dimensions["A3"] == DimScore(score=7.0, rationale="rationale for A3")
    assert kinds(p, "A3") == ["duplicate"]
    assert not p.complete


def test_duplicate_summary_field_keeps_the_first():
    p = parse_scorer_output(card_output() + "\noverall: 12")
    assert p.overall == 74
    assert kinds(p) == ["duplicate_field"]


def test_missing_summary_fields_make_it_incomplete():
    p = parse_scorer_output(card_output(tail="overall: 74"))
    assert not p.complete
    assert sorted(q.detail.split()[-1] for q in p.problems if q.kind == "missing_field") == [
        "brief:", "domain_tag:", "training_recommendation:"]


def test_slot_text_inside_a_rationale_is_never_taken():
    text = card_output().replace("rationale for A1", "unlike [A3] Goal Achievement: 9/10 — here, and overall: 3")
    p = parse_scorer_output(text)
    assert p.complete
    assert p.dimensions["A3"].score == 7.0
    assert p.overall == 74
    assert "[A3] Goal Achievement: 9/10" in p.dimensions["A1"].rationale


def test_think_block_is_ignored():
    think = "<think>\nDraft:\n[A1] Plan: 1/10 — draft\noverall: 5\n</think>\n\n"
    p = parse_scorer_output(think + card_output())
    assert p.complete
    assert p.dimensions["A1"].score == 7.0 and p.overall == 74


def test_line_numbers_count_the_think_block():
    think = "<think>\r\none\r\ntwo\r\n</think>\r\n"  # the answer starts on line 5
    p = parse_scorer_output(think + card_output({"A2": "11"}))
    assert [q.detail for q in p.problems] == ["line 6: score '11' is outside 0..10"]


def test_bare_closing_think_line_is_ignored_with_what_precedes_it():
    p = parse_scorer_output("reasoning without an opener\n[A1] Plan: 1/10 — draft\n</think>\n" + card_output())
    assert p.complete and p.dimensions["A1"].score == 7.0


def test_unclosed_think_block_leaves_no_answer():
    p = parse_scorer_output("<think>\nlet me think\n[A1] Plan: 7/10 — draft")
    assert p.dimensions == {}
    assert kinds(p)[0] == "unclosed_think"
    assert not p.complete


def test_unknown_slot_is_reported_not_stored():
    p = parse_scorer_output(card_output() + "\n[A16] Extra: 5/10 — x\n[A07] Padded: 5/10 — y")
    assert p.complete
    assert "A16" not in p.dimensions
    assert kinds(p) == ["unknown_slot", "unknown_slot"]


def test_non_ascii_slot_number_is_not_a_slot_line():
    p = parse_scorer_output("[A٣] Goal Achievement: 7/10 — x")
    assert "A3" not in p.dimensions


def test_custom_slot_list():
    p = parse_scorer_output("[A1] a: 5/10 — x\n[A2] b: 6/10 — y\noverall: 50\ntraining_recommendation: drop\n"
                            "domain_tag: t\nbrief: b", slots=("A1", "A2"))
    assert p.complete and list(p.dimensions) == ["A1", "A2"]


def test_empty_domain_tag_is_a_problem():
    p = parse_scorer_output(card_output(tail="overall: 74\ntraining_recommendation: keep\ndomain_tag:   \nbrief: b"))
    assert p.domain_tag is None and "empty_field" in kinds(p) and not p.complete


@pytest.mark.parametrize("text", ["", "   ", "\x00", "no answer at all", None])
def test_empty_or_garbage_input(text):
    p = parse_scorer_output(text)  # type: ignore[arg-type]
    assert not p.complete
    assert len([q for q in p.problems if q.kind == "missing"]) == 15


def test_lone_surrogates_and_nul_do_not_break_parsing():
    p = parse_scorer_output(card_output().replace("rationale for A2", "bad \ud800 text \x00 here"))
    assert p.complete
    assert p.dimensions["A2"].rationale == "bad \ud800 text \x00 here"  # kept as is: storage applies text_rules


@pytest.mark.parametrize("value", [0.0, 7.0, 7.5, 0.1, 1e-7, 9.999999999999998, 10.0])
def test_format_score_round_trips_without_exponent(value):
    text = format_score(value)
    assert "e" not in text.lower()
    assert float(text) == value


# ---- property tests -------------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.text())
def test_never_raises_on_any_text(text):
    p = parse_scorer_output(text)
    assert isinstance(p, ParsedScore)
    assert set(p.dimensions) <= set(SLOTS)
    for d in p.dimensions.values():
        assert d.score is None or 0 <= d.score <= 10


_line_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(
    st.text(alphabet=_line_chars, max_size=60),
    st.sampled_from(["[A1] X: 7/10 — y", "**[A2]**: nan/10", "overall: 5", "<think>", "</think>",
                     "training_recommendation: keep", "[A3]", "[A4] :", "brief:", "- [A5] – –"]),
), max_size=30))
def test_never_raises_on_structured_noise(lines):
    p = parse_scorer_output("\n".join(lines))
    assert isinstance(p, ParsedScore)
    assert p.complete == (not any(q.kind not in ("unknown_slot", "duplicate_field") for q in p.problems))


_rationale = st.text(alphabet=_line_chars, max_size=80).map(str.strip)
# Summary values as the parser returns them: stripped of whitespace and of emphasis marks at the ends.
_summary_text = st.text(alphabet=_line_chars, min_size=1, max_size=30).filter(
    lambda t: t == t.strip().strip("*_`").strip())
_score = st.one_of(st.integers(0, 10).map(float), st.floats(0, 10, allow_nan=False, allow_infinity=False))


@st.composite
def parsed_scores(draw):
    dims = {s: DimScore(score=draw(st.one_of(st.none(), _score)), rationale=draw(_rationale))
            for s in SLOTS if draw(st.booleans()) or draw(st.booleans())}
    tag = draw(st.one_of(st.none(), _summary_text))
    brief = draw(st.one_of(st.none(), _summary_text))
    return ParsedScore(dimensions=dims, overall=draw(st.one_of(st.none(), st.integers(0, 100))),
                       training_recommendation=draw(st.sampled_from([None, "keep", "downsample", "drop"])),
                       domain_tag=tag, brief=brief)


@settings(max_examples=300, deadline=None)
@given(parsed_scores())
def test_render_then_parse_round_trip(parsed):
    again = parse_scorer_output(render_scorer_output(parsed, RUBRIC))
    assert again.dimensions == parsed.dimensions
    assert (again.overall, again.training_recommendation, again.domain_tag, again.brief) == (
        parsed.overall, parsed.training_recommendation, parsed.domain_tag, parsed.brief)
    assert again.complete == (len(parsed.dimensions) == 15
                              and all(d.score is not None for d in parsed.dimensions.values())
                              and None not in (parsed.overall, parsed.training_recommendation,
                                               parsed.domain_tag, parsed.brief))
    # and parsing is stable: a second round trip changes nothing
    assert parse_scorer_output(render_scorer_output(again, RUBRIC)) == again


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(SLOTS), min_size=1, max_size=5), st.data())
def test_slot_looking_text_in_rationales_does_not_change_scores(targets, data):
    base = parse_scorer_output(card_output())
    noisy = base.model_copy(deep=True)
    for slot in targets:
        quoted = data.draw(st.sampled_from(SLOTS))
        fake = data.draw(st.sampled_from(["0/10", "10/10", "nan/10", "12/10", "3"]))
        noisy.dimensions[slot].rationale += f" cf. [{quoted}] {RUBRIC.name_of(quoted)}: {fake} — overall: 1"
    again = parse_scorer_output(render_scorer_output(noisy, RUBRIC))
    assert {s: d.score for s, d in again.dimensions.items()} == {s: d.score for s, d in base.dimensions.items()}
    assert again.overall == 74 and again.complete
    assert not any(math.isnan(d.score or 0) for d in again.dimensions.values())


# ---- mira-curator parse FILE ----------------------------------------------------------------------------

def _run_parse_cli(argv: list[str]) -> int:
    """Run the command through its own parser, independent of the other command modules."""
    import argparse

    from mira_core.cli import parse_cmds

    parser = argparse.ArgumentParser()
    parse_cmds.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    args.settings = Settings()  # what the CLI entry sets on every command
    return args.func(args)


def test_cli_parse_prints_the_documented_json(tmp_path, capsys):
    import json

    out = tmp_path / "out.txt"
    out.write_text(card_output({"A4": "12"}), encoding="utf-8")
    assert _run_parse_cli(["parse", str(out)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data) == ["dimensions", "overall", "training_recommendation", "domain_tag", "brief", "complete",
                          "problems"]
    assert data["dimensions"]["A1"] == {"score": 7.0, "rationale": "rationale for A1"}
    assert data["dimensions"]["A4"] == {"score": None, "rationale": "rationale for A4"}
    assert data["overall"] == 74 and data["training_recommendation"] == "keep"
    assert data["complete"] is False
    assert data["problems"] == [{"slot": "A4", "kind": "out_of_range", "detail": "line 4: score '12' is outside 0..10"}]


def test_cli_parse_reads_undecodable_bytes(tmp_path, capsys):
    import json

    out = tmp_path / "bad.txt"
    out.write_bytes(b"[A1] x: 7/10 \xc3 ok\n\xff[A2] y: 5/10\n")
    assert _run_parse_cli(["parse", "--compact", str(out)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["dimensions"]["A1"] == {"score": 7.0, "rationale": "\ufffd ok"}
    assert "A2" not in data["dimensions"]  # U+FFFD before [A2]: not at line start


def test_cli_parse_missing_file_is_a_clear_error(tmp_path):
    from mira_core.errors import NotFoundError

    with pytest.raises(NotFoundError, match="no such file"):
        _run_parse_cli(["parse", str(tmp_path / "nope.txt")])
