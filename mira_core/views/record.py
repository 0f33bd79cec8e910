"""The Record screen's loader: one record, its metadata and its place in the Browse filter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mira_core.records import Record
from mira_core.storage import Connection, records_repo
from mira_core.views.browse_params import BrowseView, page_of


@dataclass(frozen=True)
class RecordContext:
    """What the Record page shows around the record itself."""

    meta: dict[str, Any]
    """The record's metadata row (the Browse columns and more)."""
    record: Record
    prev_id: str | None
    next_id: str | None
    total: int
    """Records in the Browse filter."""
    position: int | None
    """0-based rank within the filter; None when the record is outside it."""
    back_view: BrowseView
    """The Browse view to go back to: the page that shows this record when it is in the filter."""

    @property
    def where(self) -> str:
        """Where the record sits, for the line beside previous / next."""
        if self.position is not None:
            return f"record {self.position + 1:,} of {self.total:,} in the Browse filter"
        return f"outside the Browse filter ({self.total:,} records); previous / next follow its sort order"


def load_record_context(conn: Connection, record_id: str, view: BrowseView) -> RecordContext:
    """The record, its metadata row and its place in the Browse filter (one body read, a few counts).

    Raises NotFoundError when the record does not exist.
    """
    meta = records_repo.get_metadata(conn, record_id)
    record = records_repo.get_record(conn, record_id)
    prev_id, next_id = records_repo.neighbours(conn, view.filter, view.sort, record_id)
    total = records_repo.count_records(conn, view.filter)
    only_this = view.filter.model_copy(update={"record_ids": [record_id]})
    in_filter = records_repo.count_records(conn, only_this) == 1
    position = records_repo.position(conn, view.filter, view.sort, record_id) if in_filter else None
    back = view if position is None else view.model_copy(update={"page": page_of(position, view.page_size)})
    return RecordContext(meta, record, prev_id, next_id, total, position, back)
