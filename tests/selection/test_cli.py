"""The selection commands end to end on the hand-made corpus (database and export folder from the autouse fixture)."""

import json
import os

from mira_core.cli import main
from mira_core.storage import migrate
from mira_core.storage.engine import make_engine, read_conn
from mira_core.team import list_changes
from tests.selection.dbcorpus import seed


def _seeded():
    eng = make_engine(os.environ["MIRA_DATABASE_URL"])
    migrate.upgrade(eng)
    seed(eng)
    eng.dispose()


def test_policy_import_list_show_diff_export(tmp_path, capsys):
    _seeded()
    a = tmp_path / "a.json"
    a.write_text(json.dumps({"name": "strict", "cuts": {"A": {"mode": "threshold", "value": 7},
                                                        "B": {"mode": "threshold", "value": 7}}}))
    b = tmp_path / "b.json"
    b.write_text(json.dumps({"name": "loose", "global_cut": {"mode": "threshold", "value": 0}}))
    assert main(["policy", "import", str(a)]) == 0
    assert main(["policy", "import", str(b)]) == 0
    assert main(["policy", "import", str(b)]) == 1  # exists: needs --replace
    assert "already exists" in capsys.readouterr().err
    assert main(["policy", "list"]) == 0
    out = capsys.readouterr().out
    assert "loose\tglobal" in out and "strict\tper_source" in out
    assert main(["policy", "diff", "strict", "loose", "--json"]) == 0
    diffs = {d["source"]: d for d in map(json.loads, capsys.readouterr().out.splitlines())}
    # strict keeps a1 (8), b1 (7), b4 (forced); loose keeps every scored record: + a2 a3 a4 (900 tokens), + b2
    assert (diffs["A"]["entering"], diffs["A"]["entering_tokens"], diffs["B"]["entering"]) == (3, 900, 1)
    assert main(["export", "--policy", "strict", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("3 records -> ") and "keep-strict.csv" in out
    exported = tmp_path / "exports" / "keep-strict.csv"
    assert exported.read_text().splitlines()[1].startswith("a1,A,inst-a1,8.000000,keep,1.000000,100")
    assert main(["--as", "Ops@Example.org", "policy", "delete", "loose"]) == 0
    assert main(["policy", "delete", "loose"]) == 1


def _log() -> list[tuple[str, str, str, str | None]]:
    eng = make_engine(os.environ["MIRA_DATABASE_URL"])
    with read_conn(eng) as conn:
        changes = list_changes(conn)
    eng.dispose()
    return [(c.actor, c.via, c.kind, c.target_id) for c in reversed(changes)]


def test_every_change_names_the_operator(tmp_path, monkeypatch):
    _seeded()
    monkeypatch.setenv("MIRA_CURATOR", "ops")
    p = tmp_path / "p.json"
    p.write_text(json.dumps({"name": "p", "created_by": "someone@elsewhere", "global_cut": {"mode": "threshold",
                                                                                             "value": 5}}))
    assert main(["policy", "import", str(p)]) == 0
    assert main(["--as", "ann@example.org", "policy", "import", "--replace", str(p)]) == 0
    assert main(["export", "--policy", "p"]) == 0
    assert main(["--as", "ann@example.org", "policy", "delete", "p"]) == 0
    assert _log() == [("ops", "cli", "policy.save", "p"), ("ann@example.org", "cli", "policy.save", "p"),
                      ("ops", "cli", "export.write", "keep-p.jsonl"), ("ann@example.org", "cli", "policy.delete", "p")]
    manifest = json.loads((tmp_path / "exports" / "keep-p.jsonl.manifest.json").read_text())
    assert manifest["policy"]["created_by"] == "ops"  # the importer here, not the file's author


def test_errors_are_one_line_messages(tmp_path, capsys):
    _seeded()
    assert main(["export", "--policy", "nope"]) == 1
    assert "policy 'nope' not found" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "x", "cuts": {"A": {"mode": "median", "value": 1}}}))
    assert main(["policy", "import", str(bad)]) == 1
    assert "at cuts.A.mode" in capsys.readouterr().err
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"name": "ok"}))
    main(["policy", "import", str(good)])
    assert main(["export", "--policy", "ok", "--out", str(tmp_path / "outside.jsonl")]) == 1
    assert "only inside the export folder" in capsys.readouterr().err
    assert not (tmp_path / "outside.jsonl").exists()
