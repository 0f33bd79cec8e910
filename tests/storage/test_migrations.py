"""Migrations build the schema the tables describe, on SQLite and PostgreSQL, and can go down and up."""

from sqlalchemy import inspect

from mira_core.storage import migrate
from mira_core.storage.engine import make_engine


def test_upgrade_from_blank_matches_models_and_round_trips(db_url):
    eng = make_engine(db_url)
    migrate.upgrade(eng)
    migrate.check(eng)  # raises if models and migrations differ
    names = set(inspect(eng).get_table_names())
    assert {"records", "record_bodies", "outcome_reports"} <= names
    migrate.downgrade(eng, "base")
    assert "records" not in set(inspect(eng).get_table_names())
    migrate.upgrade(eng)
    migrate.upgrade(eng)  # idempotent
    assert "records" in set(inspect(eng).get_table_names())
    eng.dispose()


def test_sqlite_connection_settings_are_applied(sqlite_engine):
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -65536
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 10000
        assert conn.exec_driver_sql("PRAGMA page_size").scalar() == 8192  # a new file gets 8 KiB pages


def test_an_existing_4k_page_database_keeps_working(tmp_path):
    """page_size only applies to new files: a store created with 4 KiB pages opens and migrates as before."""
    import sqlite3

    db = tmp_path / "old.sqlite"
    with sqlite3.connect(db) as raw:
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("CREATE TABLE t (x)")
    eng = make_engine(f"sqlite:///{db}")
    migrate.upgrade(eng)
    with eng.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA page_size").scalar() == 4096
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert "records" in set(inspect(eng).get_table_names())
    eng.dispose()
