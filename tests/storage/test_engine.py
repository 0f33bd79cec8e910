"""Transactions: SQLAlchemy errors leave storage as StorageError (a MiraError pages can show), others pass."""

import pytest
from sqlalchemy import text

from mira_core.errors import MiraError, StorageError
from mira_core.storage import make_engine, read_conn, write_tx


def test_a_refused_statement_becomes_a_storage_error_and_rolls_back(sqlite_engine):
    with write_tx(sqlite_engine) as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER NOT NULL)"))
    with pytest.raises(StorageError) as err, write_tx(sqlite_engine) as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        conn.execute(text("INSERT INTO t VALUES (NULL)"))
    assert isinstance(err.value, MiraError)
    assert "NOT NULL constraint failed" in err.value.reason and "mira-curator migrate" in str(err.value)
    with read_conn(sqlite_engine) as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 0  # the first insert was rolled back


def test_an_unreachable_database_is_a_storage_error():
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2")
    with pytest.raises(StorageError, match="database error"), read_conn(engine) as conn:
        conn.execute(text("SELECT 1"))


def test_other_exceptions_pass_through_unchanged(sqlite_engine):
    with pytest.raises(KeyError), read_conn(sqlite_engine):
        raise KeyError("not a database problem")


def _temp_store(conn) -> int:
    return conn.execute(text("PRAGMA temp_store")).scalar()


def test_an_in_memory_journal_lasts_for_its_transaction_only(sqlite_engine):
    """Imports keep statement journals in memory; the pooled connection goes back to SQLite's default, error or not."""
    with read_conn(sqlite_engine) as conn:
        default = _temp_store(conn)
    with write_tx(sqlite_engine, journal_in_memory=True) as conn:
        assert _temp_store(conn) == 2  # MEMORY
        conn.execute(text("CREATE TABLE t (x INTEGER NOT NULL)"))
    with pytest.raises(StorageError), write_tx(sqlite_engine, journal_in_memory=True) as conn:
        conn.execute(text("INSERT INTO t VALUES (NULL)"))
    with read_conn(sqlite_engine) as conn:
        assert _temp_store(conn) == default != 2
    with write_tx(sqlite_engine) as conn:
        assert _temp_store(conn) == default
        conn.execute(text("INSERT INTO t VALUES (1)"))
    with read_conn(sqlite_engine) as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 1
