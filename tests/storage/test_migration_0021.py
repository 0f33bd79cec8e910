"""Migration 0021 adds `scores.slots_packed` and fills it for the scores already stored, on both back ends."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from mira_core.dimensions import COLUMNS
from mira_core.records import Record
from mira_core.storage import migrate
from mira_core.storage.engine import make_engine, read_conn, write_tx
from mira_core.storage.packed_slots import pack
from mira_core.storage.records_repo import StoredItem, insert_items
from mira_core.storage.selection_repo import load_selection_columns
from tests.storage.test_columnar_loaders import assert_same_arrays, unpacked_selection

SLOT_VALUES = [
    [7.0, 0.1, None, 10.0, 2.5, 1 / 3, 0.0, 3.0, 4.0, 5.0, 6.0, 8.0, 9.0, 9.5, 0.3],
    [None] * 15,
    [float(i % 11) for i in range(15)],
]


def _score_sql(score_id: int, record_id: str, slots: list) -> str:
    values = ", ".join("NULL" if v is None else repr(v) for v in slots)
    return ("INSERT INTO scores (score_id, record_id, judge_kind, judge, job_id, prompt_version, created_at, "
            f"raw_output, complete, overall, shortened, elided_tokens, parsed, {', '.join(COLUMNS)}) VALUES "
            f"({score_id}, '{record_id}', 'student', 'm', 'j{score_id}', 'v1', '2026-01-01 00:00:00+00:00', 'raw', "
            f"true, 60, false, 0, '{{}}', {values})")


def test_0021_fills_the_packed_column_of_stored_scores_and_goes_back(db_url):
    eng = make_engine(db_url)
    migrate.upgrade(eng, "0020")
    recs = [Record(record_id=f"r{i}", source="s", format="f", issue="x" * 40, origin="test") for i in range(3)]
    with write_tx(eng) as conn:
        insert_items(conn, [StoredItem(r, r.model_dump_json().encode()) for r in recs])
        for i, slots in enumerate(SLOT_VALUES):
            conn.execute(text(_score_sql(10 + 7 * i, f"r{i}", slots)))  # ids with gaps, not from 1
    migrate.upgrade(eng)
    sqlite = eng.dialect.name == "sqlite"
    with eng.connect() as conn:
        rows = conn.execute(text(f"SELECT slots_packed, {', '.join(COLUMNS)} FROM scores ORDER BY score_id")).all()
    assert [bytes(r[0]) for r in rows] == [pack(r[1:], sqlite=sqlite) for r in rows]
    assert [bytes(r[0]) for r in rows] == [pack(v) for v in SLOT_VALUES]
    with read_conn(eng) as conn:
        assert_same_arrays(load_selection_columns(conn), unpacked_selection(eng))
    migrate.check(eng)
    migrate.downgrade(eng, "0020")
    with eng.connect() as conn:
        assert "slots_packed" not in {c["name"] for c in inspect(conn).get_columns("scores")}
    eng.dispose()


def test_postgres_vacuums_the_tables_after_the_upgrades_that_need_it(db_url):
    """The load's index-only scan needs a vacuumed table; VACUUM cannot run inside the migration."""
    eng = make_engine(db_url)
    if eng.dialect.name != "postgresql":
        eng.dispose()
        pytest.skip("PostgreSQL's VACUUM")
    migrate.upgrade(eng, "0020")
    vacuumed = text("SELECT relname FROM pg_stat_user_tables WHERE last_vacuum IS NOT NULL "
                    "AND relname IN ('scores', 'records')")
    with eng.connect() as conn:
        assert not conn.execute(vacuumed).scalars().all()
    migrate.upgrade(eng, "0021")
    with eng.connect() as conn:
        assert conn.execute(vacuumed).scalars().all() == ["scores"]
    migrate.upgrade(eng)  # 0022: the records' covering index, read by an index-only scan
    with eng.connect() as conn:
        assert sorted(conn.execute(vacuumed).scalars()) == ["records", "scores"]
    eng.dispose()


def test_crossed_tells_whether_an_upgrade_applied_a_revision():
    assert migrate._crossed(None, "0021", "0021") and migrate._crossed("0020", "0022", "0021")
    assert not migrate._crossed("0021", "0022", "0021") and not migrate._crossed(None, "0020", "0021")
    assert not migrate._crossed("0020", None, "0021")
