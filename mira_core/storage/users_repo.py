"""The people allowed in and their roles (rows only; the rules about who may change them live in `team`)."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, delete, func, insert, select, update

from mira_core.storage.tables import users
from mira_core.timeutil import as_utc, utcnow


class UserRow(NamedTuple):
    """One allowed person."""

    user_id: str
    role: str
    added_by: str
    added_at: datetime
    updated_by: str
    updated_at: datetime


def _row(r: tuple) -> UserRow:
    return UserRow(r[0], r[1], r[2], as_utc(r[3]) or r[3], r[4], as_utc(r[5]) or r[5])


def get_user(conn: Connection, user_id: str) -> UserRow | None:
    """The person with this id, or None."""
    r = conn.execute(select(*users.c).where(users.c.user_id == user_id)).first()
    return _row(tuple(r)) if r else None


def list_users(conn: Connection) -> list[UserRow]:
    """Everyone allowed in, admins first, then by id."""
    order = (users.c.role != "admin", users.c.role != "curator", users.c.user_id)
    return [_row(tuple(r)) for r in conn.execute(select(*users.c).order_by(*order))]


def insert_user(conn: Connection, user_id: str, role: str, by: str) -> None:
    """Add a person (the caller checked they are not there yet)."""
    now = utcnow()
    conn.execute(insert(users).values(user_id=user_id, role=role, added_by=by, added_at=now, updated_by=by,
                                      updated_at=now))


def update_role(conn: Connection, user_id: str, role: str, by: str) -> int:
    """Set a person's role; returns rows changed (0 when the person is not there)."""
    stmt = update(users).where(users.c.user_id == user_id).values(role=role, updated_by=by, updated_at=utcnow())
    return conn.execute(stmt).rowcount


def delete_user(conn: Connection, user_id: str) -> int:
    """Remove a person; returns rows removed."""
    return conn.execute(delete(users).where(users.c.user_id == user_id)).rowcount


def count_admins(conn: Connection) -> int:
    """How many admins there are."""
    return int(conn.execute(select(func.count()).select_from(users).where(users.c.role == "admin")).scalar() or 0)
