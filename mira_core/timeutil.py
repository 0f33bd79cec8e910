"""UTC times: every stored time is timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, timezone-aware UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes for stored UTC values; make them aware again."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
