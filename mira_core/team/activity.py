"""The activity log: every change names its person; read newest first, filtered by person, kind, record."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from mira_core.identity import Actor
from mira_core.storage import Connection, activity_repo


class Change(BaseModel):
    """One change as the Activity page and `mira-curator activity` show it."""

    model_config = ConfigDict(frozen=True)

    activity_id: int = Field(description="Increasing id; `before_id` pages back from it.")
    at: datetime = Field(description="When, UTC.")
    actor: str = Field(description="The person's id.")
    via: str = Field(description="'web' or 'cli'.")
    kind: str = Field(description="What happened, e.g. `user.add`, `annotation.save`.")
    target_kind: str = Field(description="record / user / mask / policy / job / settings / ...")
    target_id: str | None = Field(description="The changed thing's id, when it has one.")
    record_id: str | None = Field(description="The record concerned, for its history.")
    detail: dict[str, object] = Field(description="What changed.")


def record_change(conn: Connection, actor: Actor, kind: str, *, target_kind: str, target_id: str | None = None,
                  record_id: str | None = None, **detail: object) -> None:
    """Append a change in the caller's transaction, so it commits (or rolls back) with the change itself."""
    activity_repo.insert_activity(
        conn, actor=actor.user_id, via=actor.via, kind=kind, target_kind=target_kind, target_id=target_id,
        record_id=record_id, detail=json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str),
    )


def list_changes(conn: Connection, *, actors: Sequence[str] = (), kinds: Sequence[str] = (),
                 record_id: str | None = None, limit: int = 100, before_id: int | None = None) -> list[Change]:
    """Changes newest first (at most `limit`), filtered; pass the last `activity_id` as `before_id` for more."""
    rows = activity_repo.list_activity(conn, actors=actors, kinds=kinds, record_id=record_id, limit=limit,
                                       before_id=before_id)
    return [Change(activity_id=r.activity_id, at=r.at, actor=r.actor, via=r.via, kind=r.kind,
                   target_kind=r.target_kind, target_id=r.target_id, record_id=r.record_id,
                   detail=_detail(r.detail)) for r in rows]


def _detail(text: str) -> dict[str, object]:
    try:
        value = json.loads(text)
    except ValueError:
        return {"unreadable": text}
    return value if isinstance(value, dict) else {"value": value}
