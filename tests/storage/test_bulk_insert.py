"""`insert_ignore` and the search rows store exactly what SQLAlchemy's compiled statements stored before them."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import sqlite

from mira_core.ingest_worker import plain_item, process_item
from mira_core.input_files import choose_layout, file_items, sniff_file
from mira_core.storage import write_tx
from mira_core.storage.bulk_insert import insert_ignore
from mira_core.storage.engine import make_engine
from mira_core.storage.migrate import upgrade
from mira_core.storage.prepared_rows import PreparedRow
from mira_core.storage.records_repo import insert_prepared
from mira_core.storage.tables import record_bodies, records

# One file per layout family the demo corpus uses (OpenHands output rows, Nebius rows, SWE-Gym rows).
REAL_FILES = (
    "openhands/OpenHands__OpenHands@d6fab19/evaluation/benchmarks/multi_swe_bench/examples/output.jsonl",
    "env_native/zhu-yiqi__agent-data-protocol@05546b4/datasets/nebius_SWE-agent-trajectories/sample_raw.json",
    "sft_messages/zhu-yiqi__agent-data-protocol@80a1efb/datasets/SWE-Gym_OpenHands-Sampled-Trajectories/sample_raw.json",
)


def _prepared(path: Path) -> list[PreparedRow]:
    sniffed = sniff_file(path, 32 << 20)
    layout = choose_layout(sniffed, path, None)
    whole = sniffed.whole is not None and (layout.framing == "whole" or sniffed.container == "whole")
    items = [sniffed.whole] if whole else file_items(path, layout, sniffed.container, 32 << 20)
    rows = [process_item(plain_item(it), layout, "agent_openhands", path).row for it in items]
    return [r for r in rows if r is not None]


def _compiled_insert(conn, rows: list[PreparedRow], now: datetime) -> None:
    """What `insert_prepared` ran before `insert_ignore`: compiled statements, parameters as dicts."""
    for table, params in ((records, [{**r.meta, "imported_at": now} for r in rows]), (record_bodies, [r.body for r in rows])):
        conn.execute(sqlite.insert(table).on_conflict_do_nothing(index_elements=["record_id"]), params)
    rowid_of = dict(conn.execute(text("SELECT record_id, rowid FROM records")).all())
    conn.execute(text("INSERT INTO records_fts(rowid, record_id, instance_id, issue, patch) "
                      "VALUES (:rowid, :record_id, :instance_id, :issue, :patch)"),
                 [{**r.search, "rowid": rowid_of[r.record_id]} for r in rows])


def _dump(engine, table: str) -> list[tuple]:
    """Every row of `table` with each value's SQLite storage class (1 and True, or text and blob, differ)."""
    with engine.connect() as conn:
        cols = [c[1] for c in conn.exec_driver_sql(f"PRAGMA table_info({table})")]
        typed = ", ".join(f"{c}, typeof({c})" for c in cols)
        return conn.exec_driver_sql(f"SELECT rowid, {typed} FROM {table} ORDER BY rowid").all()


@pytest.mark.parametrize("name", REAL_FILES)
def test_rows_and_search_index_match_the_compiled_statements(real_data, tmp_path, name, monkeypatch):
    rows = _prepared(real_data / name)
    assert rows, "the sample file yields records"
    now = datetime(2026, 12, 2, 13, 30, 5, 123456, tzinfo=UTC)
    monkeypatch.setattr("mira_core.storage.records_repo.datetime", type("D", (), {"now": staticmethod(lambda tz: now)}))
    engines = [make_engine(f"sqlite:///{tmp_path / f'{which}.sqlite'}") for which in ("new", "old")]
    for eng in engines:
        upgrade(eng)
    with write_tx(engines[0]) as conn:
        assert insert_prepared(conn, rows + rows[:1]) == {"inserted": len(rows), "present": 1}
    with write_tx(engines[1]) as conn:
        _compiled_insert(conn, rows, now)
    for table in ("records", "record_bodies", "records_fts"):
        assert _dump(engines[0], table) == _dump(engines[1], table), table
    with engines[0].connect() as conn:
        hits = conn.exec_driver_sql("SELECT count(*) FROM records_fts WHERE records_fts MATCH 'the'").scalar()
    assert hits > 0  # the search rows are indexed, not only stored
    for eng in engines:
        eng.dispose()


def test_insert_ignore_skips_existing_rows_and_takes_keys_in_any_order(sqlite_engine):
    body = {"record_id": "r1", "body": b"b", "raw": b"r", "raw_bytes": 1, "raw_sha256": "0" * 64}
    meta = {"record_id": "r1", "source": "s", "format": "f", "outcome": "unknown", "n_steps": 0, "n_errors": 0,
            "token_estimate": 0, "patch_files": 0, "title": "", "synthetic": True, "altered_fields": "[]",
            "origin": "o", "imported_at": datetime(2026, 1, 1, tzinfo=UTC)}
    shuffled = dict(reversed(list({**meta, "record_id": "r2"}.items())))
    with write_tx(sqlite_engine) as conn:
        insert_ignore(conn, records, [meta, shuffled], ["record_id"])
        insert_ignore(conn, records, [{**meta, "source": "other"}], ["record_id"])  # present: left as it was
        insert_ignore(conn, record_bodies, [body], ["record_id"])
    with sqlite_engine.connect() as conn:
        got = conn.exec_driver_sql("SELECT record_id, source, synthetic, typeof(synthetic), imported_at "
                                   "FROM records ORDER BY record_id").all()
    assert got == [("r1", "s", 1, "integer", "2026-01-01 00:00:00.000000"),
                   ("r2", "s", 1, "integer", "2026-01-01 00:00:00.000000")]
