"""Revision counters start at 0, count bumps, and roll back with their transaction (SQLite and PostgreSQL)."""

import pytest

from mira_core.storage import revisions_repo
from mira_core.storage.engine import read_conn, write_tx


def test_bump_counts_and_rolls_back_with_the_transaction(engine):
    with read_conn(engine) as conn:
        assert revisions_repo.current(conn, "scores") == 0
    with write_tx(engine) as conn:
        revisions_repo.bump(conn, "scores")
        revisions_repo.bump(conn, "scores")
    with pytest.raises(RuntimeError), write_tx(engine) as conn:
        revisions_repo.bump(conn, "scores")
        raise RuntimeError("batch failed")
    with write_tx(engine) as conn:
        revisions_repo.bump(conn, "other")
    with read_conn(engine) as conn:
        assert (revisions_repo.current(conn, "scores"), revisions_repo.current(conn, "other")) == (2, 1)
