"""The reliability commands end to end through `mira_core.cli.main` on the per-test database."""

import json
import os

import numpy as np

from mira_core.cli import main
from mira_core.dimensions import SLOTS
from mira_core.storage import migrate
from mira_core.storage.engine import make_engine
from tests.reliability.builders import add_scores, make_records, person


def _corpus():
    eng = make_engine(os.environ["MIRA_DATABASE_URL"])
    migrate.upgrade(eng)
    ids = make_records(eng, 80)
    rng = np.random.default_rng(0)
    add_scores(eng, ids, rng.integers(0, 11, (80, 15)).astype(float))
    eng.dispose()
    return ids


def test_import_teacher_reports_line_numbers_and_exit_code(tmp_path, capsys):
    ids = _corpus()
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"record_id": ids[0], "scores": dict.fromkeys(SLOTS, 5)}) + "\n{oops\n")
    assert main(["import-teacher", str(path), "--teacher", "kimi"]) == 1
    out = capsys.readouterr()
    assert "line 2: not valid JSON" in out.err
    assert "stored 1 (partial 0), rejected 1" in out.out
    assert main(["import-teacher", str(tmp_path / "missing.jsonl"), "--teacher", "kimi"]) == 1


def test_mask_from_rules_export_import_activate(tmp_path, capsys):
    _corpus()
    assert main(["demo-teacher", "--coverage", "0.9"]) == 0
    assert main(["mask", "from-rules", "--name", "strict", "--teacher", "kimi-k2.6-SIMULATED",
                 "--max-mae", "0.5", "--min-n", "5"]) == 0
    assert "cells masked" in capsys.readouterr().out
    out = tmp_path / "mask.json"
    assert main(["mask", "export", "-o", str(out)]) == 0
    exported = json.loads(out.read_text())
    assert set(exported) <= {"src_a", "src_b"} and exported
    (tmp_path / "repo.json").write_text('{"*": {"A7": {"masked": true, "reason": "paper Fig. 3"}}}')
    assert main(["mask", "import", str(tmp_path / "repo.json"), "--name", "from paper", "--no-activate"]) == 0
    capsys.readouterr()
    assert main(["mask", "list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].startswith("  2\tfrom paper\t1 masked") and listing[1].startswith("* 1\tstrict")
    assert main(["mask", "activate", "2"]) == 0
    assert main(["mask", "export"]) == 0
    assert json.loads(capsys.readouterr().out.split("\n", 1)[1])["*"]["A7"]["reason"] == "paper Fig. 3"
    (tmp_path / "bad.json").write_text('{"a": {"A99": {"masked": true}}}')
    assert main(["mask", "import", str(tmp_path / "bad.json"), "--name", "x"]) == 1
    assert "bad.json: at a.A99" in capsys.readouterr().err
    assert main(["mask", "activate", "42"]) == 1


def test_tag_command_tags_all_matches(capsys):
    _corpus()
    assert main(["tag", "review-me", "--filter", '{"sources": ["src_b"]}']) == 0
    assert capsys.readouterr().out.strip() == "added to 40 records"
    assert main(["tag", "review-me", "--remove"]) == 0
    assert capsys.readouterr().out.strip() == "removed from 40 records"
    assert main(["tag", "x", "--filter", '{"colour": 1}']) == 1
    assert main(["tag", " ", "--filter", "{}"]) == 1  # an empty tag is refused with a message


def test_export_reviews_per_reviewer(tmp_path, capsys):
    from mira_core.reliability.spot_check_store import create_spot_check
    from mira_core.storage import spot_checks_repo as spot
    from mira_core.storage.engine import read_conn, write_tx

    _corpus()
    eng = make_engine(os.environ["MIRA_DATABASE_URL"])
    with write_tx(eng) as conn:
        sid = create_spot_check(conn, source="src_a", slot="A3", size=3, actor=person("ann"))
        spot.record_review(conn, sid, 0, human_score=4, reviewer="ann", note="ok")
        spot.record_review(conn, sid, 1, human_score=None, skipped=True, reviewer="bob")
    with read_conn(eng) as conn:
        progress = spot.reviewer_progress(conn, sid)
    eng.dispose()
    assert progress.values.tolist() == [["ann", 1, 0], ["bob", 0, 1]]
    out = tmp_path / "reviews.jsonl"
    assert main(["export-reviews", "--reviewer", "ann", "-o", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["human_score"] == 4 and rows[0]["slot"] == "A3" and rows[0]["note"] == "ok"
    assert rows[0]["student_score"] is not None and rows[0]["reviewed_at"].endswith("+00:00")
    assert main(["export-reviews"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_the_operator_is_named_on_tags_mask_versions_and_teacher_imports(tmp_path, capsys):
    from mira_core.storage.engine import read_conn
    from mira_core.team import list_changes

    ids = _corpus()
    (tmp_path / "mask.json").write_text('{"*": {"A7": {"masked": true, "reason": "paper Fig. 3"}}}')
    (tmp_path / "t.jsonl").write_text(json.dumps({"record_id": ids[0], "scores": dict.fromkeys(SLOTS, 5)}) + "\n")
    assert main(["--as", "Ops@Example.org", "tag", "review-me", "--filter", '{"sources": ["src_b"]}']) == 0
    assert main(["--as", "ops@example.org", "mask", "import", str(tmp_path / "mask.json"), "--name", "paper"]) == 0
    assert main(["--as", "ops@example.org", "mask", "activate", "1"]) == 0
    assert main(["--as", "ops@example.org", "import-teacher", str(tmp_path / "t.jsonl"), "--teacher", "kimi"]) == 0
    eng = make_engine(os.environ["MIRA_DATABASE_URL"])
    with read_conn(eng) as conn:
        log = list_changes(conn)
    eng.dispose()
    assert {(c.actor, c.via) for c in log} == {("ops@example.org", "cli")}
    assert [(c.kind, c.target_id) for c in log] == [("teacher.import", "kimi"), ("mask.activate", "1"),
                                                    ("mask.activate", "1"), ("mask.save", "1"),
                                                    ("tag.bulk_add", None)]
    assert log[-1].detail == {"tag": "review-me", "filter": {"sources": ["src_b"]}, "count": 40}
