"""The Record screen's loader: one record, its metadata and its place in the Browse filter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mira_core.records import Record
from mira_core.storage import Connection, records_repo
from mira_core.views.browse import TEXT_COUNT_CAP, TEXT_PAGE_DEPTH
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
    """Records in the Browse filter (with `exact` False, more than this many: a capped text search)."""
    position: int | None
    """0-based rank within the filter; None when the record is outside it or past TEXT_PAGE_DEPTH of a capped search."""
    back_view: BrowseView
    """The Browse view to go back to: the page that shows this record when it is in the filter."""
    exact: bool = True
    """Whether `total` is exact (False: a text search matching more than `total`)."""
    in_filter: bool = True
    """Whether the record matches the Browse filter."""

    @property
    def where(self) -> str:
        """Where the record sits, for the line beside previous / next."""
        total = f"{self.total:,}" if self.exact else f"more than {self.total:,}"
        if self.position is not None:
            return f"record {self.position + 1:,} of {total} in the Browse filter"
        if self.in_filter:
            return f"past the first {TEXT_PAGE_DEPTH:,} of {total} records in the Browse filter"
        return f"outside the Browse filter ({total} records); previous / next follow its sort order"


def load_record_context(conn: Connection, record_id: str, view: BrowseView) -> RecordContext:
    """The record, its metadata row and its place in the Browse filter (one body read, a few counts).

    A text search is counted and walked as Browse does (`load_browse_page`): a common word's matches are
    never all listed, and the rank within it is counted up to TEXT_PAGE_DEPTH. Raises NotFoundError when
    the record does not exist.
    """
    meta = records_repo.get_metadata(conn, record_id)
    record = records_repo.get_record(conn, record_id)
    count = records_repo.count_capped(conn, view.filter, TEXT_COUNT_CAP)
    prev_id, next_id = records_repo.neighbours(conn, view.filter, view.sort, record_id, text_count=count)
    in_filter = records_repo.matches(conn, view.filter, record_id)
    depth = None if count.exact else TEXT_PAGE_DEPTH
    position = (records_repo.position(conn, view.filter, view.sort, record_id, text_count=count, limit=depth)
                if in_filter else None)
    if position is not None and depth is not None and position >= depth:
        position = None
    back = view if position is None else view.model_copy(update={"page": page_of(position, view.page_size)})
    return RecordContext(meta, record, prev_id, next_id, count.n, position, back, count.exact, in_filter)
