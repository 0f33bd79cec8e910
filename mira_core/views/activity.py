"""The Activity screen's loader: one page of the change log, newest first, with what its filters offer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from mira_core.storage import Connection, activity_repo
from mira_core.team import list_changes

ACTIVITY_COLUMNS = ("when", "person", "via", "kind", "target", "record", "open", "detail")
"""Columns of `ActivityPage.rows`; `open` is a relative link to the record (or empty)."""


@dataclass(frozen=True)
class ActivityPage:
    """What the Activity page shows for one set of filters."""

    rows: pd.DataFrame
    """ACTIVITY_COLUMNS, newest first; text is the stored values, to be rendered as text."""
    older_than: int | None
    """`before_id` for the next (older) page, or None when this page reaches the start of the log."""
    people: list[str] = field(default_factory=list)
    """Everyone who appears in the log (filter choices)."""
    kinds: list[str] = field(default_factory=list)
    """Every kind of change in the log (filter choices)."""


def load_activity(conn: Connection, *, people: Sequence[str] = (), kinds: Sequence[str] = (),
                  record_id: str | None = None, before_id: int | None = None, limit: int = 100) -> ActivityPage:
    """One page of changes matching the filters, and the filter choices."""
    changes = list_changes(conn, actors=people, kinds=kinds, record_id=record_id or None, before_id=before_id,
                           limit=limit + 1)
    more = len(changes) > limit
    changes = changes[:limit]
    rows = pd.DataFrame([
        (c.at, c.actor, c.via, c.kind, f"{c.target_kind} {c.target_id}" if c.target_id else c.target_kind,
         c.record_id or "", f"record?id={c.record_id}" if c.record_id else None,
         ", ".join(f"{k}={v}" for k, v in sorted(c.detail.items())))
        for c in changes
    ], columns=list(ACTIVITY_COLUMNS))
    return ActivityPage(rows=rows, older_than=changes[-1].activity_id if more and changes else None,
                        people=activity_repo.distinct_values(conn, "actor"),
                        kinds=activity_repo.distinct_values(conn, "kind"))
