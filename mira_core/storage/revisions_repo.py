"""Revision counters: a change made in place bumps one, so caches keyed on "what changed" see it."""

from __future__ import annotations

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from mira_core.storage.tables import revisions

SCORES = "scores"  # bumped when stored scores are rewritten in place (reparse)


def bump(conn: Connection, name: str) -> None:
    """Add one to counter `name` (created at 1), inside the caller's transaction."""
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    stmt = dialect.insert(revisions).values(name=name, value=1)
    conn.execute(stmt.on_conflict_do_update(index_elements=["name"], set_={"value": revisions.c.value + 1}))


def current(conn: Connection, name: str) -> int:
    """Counter `name` (0 before its first bump)."""
    return int(conn.execute(select(revisions.c.value).where(revisions.c.name == name)).scalar() or 0)
