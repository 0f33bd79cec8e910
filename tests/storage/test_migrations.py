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
