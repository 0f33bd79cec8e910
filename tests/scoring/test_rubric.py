"""The anchor rubric and calibration files: our files match the model card, bad files give file:line errors."""

from __future__ import annotations

import json

import pytest

from mira_core.errors import ConfigError
from mira_core.scoring.rubric import load_calibration, load_rubric
from mira_core.settings import PROJECT_ROOT, Settings

# The model card's table, copied by hand from ../shared/seed/MIRA-Agent-Group4-model-card.txt.
CARD_TABLE = [
    ("A1", "Plan Quality / Reasoning Transparency (Goal Achievement)", 59467),
    ("A2", "Output Style/Communication", 41355),
    ("A3", "Goal Achievement", 38129),
    ("A4", "Plan Quality / Reasoning Transparency", 36330),
    ("A5", "Test Coverage & Verification Rigor", 29347),
    ("A6", "Multi-turn Coherence", 29127),
    ("A7", "Error Recovery", 28843),
    ("A8", "Tool Argument Correctness", 28122),
    ("A9", "Action Efficiency", 27440),
    ("A10", "User Intent Comprehension", 24691),
    ("A11", "Safety & scope", 24339),
    ("A12", "Observation handling", 23739),
    ("A13", "Code Change Minimality", 20203),
    ("A14", "Tool Selection", 17000),
    ("A15", "Tool Selection (Safety & Scope)", 16168),
]


def anchor_rows() -> list[dict]:
    return [{"slot": s, "name": n, "cluster_size": c, "description": f"about {s}"} for s, n, c in CARD_TABLE]


def write_jsonl(path, rows) -> None:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")


def test_our_anchor_file_matches_the_model_card():
    rubric = load_rubric(PROJECT_ROOT / "anchors" / "group_D_dim_anchors.jsonl")
    assert [(a.slot, a.name, a.cluster_size) for a in rubric.anchors] == CARD_TABLE
    assert all(a.description for a in rubric.anchors)
    assert rubric.slots() == [f"A{i}" for i in range(1, 16)]
    assert rubric.name_of("A11") == "Safety & scope" and rubric.name_of("A99") == "A99"


def test_default_path_comes_from_settings(tmp_path, monkeypatch):
    rows = anchor_rows()
    rows[0]["name"] = "Renamed"
    write_jsonl(tmp_path / "a.jsonl", rows)
    monkeypatch.setenv("MIRA_ANCHORS_PATH", str(tmp_path / "a.jsonl"))
    assert load_rubric(Settings().anchors_path).name_of("A1") == "Renamed"


def test_our_calibration_file_is_marked_as_ours():
    refs = load_calibration(PROJECT_ROOT / "anchors" / "group_D_calibration.jsonl")
    assert len(refs) == 12
    assert all(r.author and "MIRA Curator" in r.author and "illustrative" in r.author for r in refs)
    assert {r.slot for r in refs} <= {s for s, _, _ in CARD_TABLE}


def test_rows_are_ordered_by_slot_and_extra_fields_are_kept(tmp_path):
    rows = list(reversed(anchor_rows()))
    rows[0]["centroid_id"] = 7
    write_jsonl(tmp_path / "a.jsonl", rows)
    rubric = load_rubric(tmp_path / "a.jsonl")
    assert rubric.slots()[0] == "A1"
    assert rubric.anchors[-1].model_extra == {"centroid_id": 7}


def test_alternative_field_names_of_other_files(tmp_path):
    rows = [{"slot": s, "dimension": n, "size": c} for s, n, c in CARD_TABLE]
    write_jsonl(tmp_path / "a.jsonl", rows)
    rubric = load_rubric(tmp_path / "a.jsonl")
    assert rubric.anchors[0].name == CARD_TABLE[0][1] and rubric.anchors[0].description == ""


def errors_of(path) -> str:
    with pytest.raises(ConfigError) as exc:
        load_rubric(path)
    return str(exc.value)


def test_duplicate_slot_names_both_lines(tmp_path):
    rows = anchor_rows()
    rows[4]["slot"] = "A3"
    write_jsonl(tmp_path / "a.jsonl", rows)
    msg = errors_of(tmp_path / "a.jsonl")
    assert f"{tmp_path / 'a.jsonl'}:5: slot A3 duplicated (first at line 3)" in msg


def test_duplicate_name(tmp_path):
    rows = anchor_rows()
    rows[14]["name"] = "tool selection"
    write_jsonl(tmp_path / "a.jsonl", rows)
    assert ":15: name 'tool selection' duplicated (first at line 14)" in errors_of(tmp_path / "a.jsonl")


def test_missing_slot(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", anchor_rows()[:14])
    assert "missing slot(s) A15" in errors_of(tmp_path / "a.jsonl")


@pytest.mark.parametrize("bad,expected", [
    ('{"slot": "A1", ', ":1: not valid JSON"),
    ("[1, 2]", ":1: expected a JSON object, got list"),
    ('{"slot": "A1", "name": "x", "cluster_size": NaN}', ":1: not valid JSON"),
    ({"slot": "A16", "name": "x", "cluster_size": 1}, ":1: field 'slot': 'A16' is not one of A1..A15"),
    ({"slot": "A1", "name": "", "cluster_size": 1}, ":1: field 'name'"),
    ({"slot": "A1", "name": "x", "cluster_size": -1}, ":1: field 'cluster_size'"),
    ({"slot": "A1", "name": "x"}, ":1: field 'cluster_size': Field required"),
])
def test_bad_line_is_reported_with_file_and_line(tmp_path, bad, expected):
    write_jsonl(tmp_path / "a.jsonl", [bad, *anchor_rows()[1:]])
    msg = errors_of(tmp_path / "a.jsonl")
    assert f"{tmp_path / 'a.jsonl'}{expected}" in msg


def test_blank_lines_are_skipped_and_line_numbers_stay_true(tmp_path):
    rows = anchor_rows()
    rows[1]["slot"] = "A1"
    (tmp_path / "a.jsonl").write_text("\n" + "\n\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    assert ":4: slot A1 duplicated (first at line 2)" in errors_of(tmp_path / "a.jsonl")


def test_many_errors_are_capped(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", ["oops"] * 30)
    msg = errors_of(tmp_path / "a.jsonl")
    assert ":20: not valid JSON" in msg and ":21:" not in msg and "and 10 more" in msg


def test_missing_file_says_which_setting(tmp_path):
    with pytest.raises(ConfigError, match=r"file not found.*MIRA_ANCHORS_PATH"):
        load_rubric(tmp_path / "none.jsonl")


def test_calibration_errors(tmp_path):
    good = {"id": "c1", "slot": "A3", "score": 9, "excerpt": "fixed and verified"}
    write_jsonl(tmp_path / "c.jsonl", [good, {**good, "score": 11}, {**good, "id": "c2", "slot": "B1"}, good])
    with pytest.raises(ConfigError) as exc:
        load_calibration(tmp_path / "c.jsonl")
    msg = str(exc.value)
    assert ":2: field 'score'" in msg
    assert ":3: field 'slot': 'B1' is not one of A1..A15" in msg
    assert ":4: id 'c1' duplicated (first at line 1)" in msg


def test_calibration_count_comes_from_the_file(tmp_path):
    rows = [{"slot": f"A{i}", "score": 5, "excerpt": f"e{i}", "source_cluster": i} for i in range(1, 4)]
    write_jsonl(tmp_path / "c.jsonl", rows)
    refs = load_calibration(tmp_path / "c.jsonl")
    assert [r.slot for r in refs] == ["A1", "A2", "A3"] and refs[0].model_extra == {"source_cluster": 1}
    write_jsonl(tmp_path / "empty.jsonl", [])
    assert load_calibration(tmp_path / "empty.jsonl") == []


def test_hand_copied_table_matches_the_model_card_file():
    import re

    card = PROJECT_ROOT.parent / "shared" / "seed" / "MIRA-Agent-Group4-model-card.txt"
    if not card.is_file():
        pytest.skip(f"model card not found at {card}")
    rows = [(m.group(1), m.group(2), int(m.group(3).replace(",", "")))
            for m in re.finditer(r"^(A\d{1,2}) (.+) ([\d,]+)$", card.read_text(encoding="utf-8"), re.M)]
    assert rows == CARD_TABLE
