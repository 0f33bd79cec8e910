"""The demo goes through the real importers: zero rejections, marked synthetic, realistic spread, idempotent."""

from __future__ import annotations

from sqlalchemy import func, select

from mira_core.cli import main
from mira_core.demo import load_demo, store_is_empty
from mira_core.query import RecordFilter
from mira_core.storage import records_repo
from mira_core.storage.engine import read_conn
from mira_core.storage.tables import records

LAYOUT_OF = {"agent_openhands": "openhands_output", "davinc_dev": "nebius_swe_agent", "swe_qa": "swe_gym_messages"}


def _stats(engine):
    with read_conn(engine) as conn:
        rows = conn.execute(
            select(records.c.source, records.c.format, records.c.outcome, records.c.synthetic,
                   records.c.token_estimate, records.c.patch_files, records.c.n_errors)
        ).all()
    return rows


def test_demo_imports_through_real_importers_marked_synthetic(engine):
    result = load_demo(engine, 30, seed=4)
    assert not result.skipped
    assert (result.generated, result.imported, result.rejected, result.marked) == (30, 30, 0, 30)
    rows = _stats(engine)
    assert len(rows) == 30
    assert all(r.synthetic for r in rows)
    assert {(r.source, r.format) for r in rows} == set(LAYOUT_OF.items())
    with read_conn(engine) as conn:
        assert records_repo.has_synthetic(conn, RecordFilter())


def test_reloading_the_same_seed_adds_nothing(engine):
    load_demo(engine, 12, seed=9)
    again = load_demo(engine, 12, seed=9)
    assert again.imported == 0 and again.rejected == 0
    assert sum(s.present for s in again.summaries.values()) == 12
    with read_conn(engine) as conn:
        assert conn.execute(select(func.count()).select_from(records)).scalar_one() == 12


def test_if_empty_is_a_no_op_on_a_non_empty_store(sqlite_engine):
    assert store_is_empty(sqlite_engine)
    assert load_demo(sqlite_engine, 5, seed=1, if_empty=True).imported == 5
    skipped = load_demo(sqlite_engine, 5, seed=2, if_empty=True)
    assert skipped.skipped and skipped.imported == 0
    assert len(_stats(sqlite_engine)) == 5


def test_a_few_hundred_records_spread_like_a_real_corpus(sqlite_engine):
    result = load_demo(sqlite_engine, 300, seed=0)
    assert result.rejected == 0 and result.imported == 300
    rows = _stats(sqlite_engine)
    assert {r.source for r in rows} == set(LAYOUT_OF)
    for source in LAYOUT_OF:
        outcomes = {r.outcome for r in rows if r.source == source}
        assert {"resolved", "not_resolved"} <= outcomes, source
    tokens = sorted(r.token_estimate for r in rows)
    assert tokens[0] < 2_500  # short runs (~1-2K tokens)...
    assert 45_000 < tokens[-1] <= 61_000  # ...up to near the 60K ceiling
    assert tokens[len(tokens) // 2] < 10_000  # long-tailed: most runs are short
    assert {r.patch_files for r in rows} >= {0, 1, 2, 3}
    assert any(r.n_errors for r in rows)  # failed commands / edits show up as error steps


def test_cli_demo_and_if_empty(capsys):
    assert main(["demo", "--records", "8", "--seed", "3", "--quiet"]) == 0
    assert "imported 8, rejected 0, marked synthetic 8" in capsys.readouterr().out
    assert main(["demo", "--records", "8", "--seed", "4", "--if-empty", "--quiet"]) == 0
    assert "already holds records" in capsys.readouterr().out
    assert main(["list", "--json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 8


def test_cli_demo_keeps_files_with_out(tmp_path, capsys):
    assert main(["demo", "--records", "30", "--out", str(tmp_path / "files"), "--quiet"]) == 0
    kept = sorted(p.relative_to(tmp_path / "files").as_posix() for p in (tmp_path / "files").rglob("*.jsonl"))
    assert kept == ["agent_openhands/output.jsonl", "davinc_dev/nebius_trajectories.jsonl",
                    "swe_qa/swe_gym_trajectories.jsonl"]


def test_a_source_without_rows_leaves_no_empty_file(tmp_path):
    from mira_core.demo import generate_corpus

    corpus = generate_corpus(tmp_path, 1, seed=0)
    assert len(corpus.files) == 1 and sum(corpus.per_source.values()) == 1
    assert list(tmp_path.rglob("*.jsonl")) == list(corpus.files.values())
