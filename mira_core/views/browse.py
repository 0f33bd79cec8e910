"""The Browse screen's loader: one page of records for a view, with scores, anchor columns and counts."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from mira_core.query import RecordFilter
from mira_core.reliability.mask_store import active_mask
from mira_core.storage import Connection, annotations_repo, records_repo
from mira_core.views.anchor_columns import anchor_columns, masked_slots
from mira_core.views.browse_params import BrowseView


@dataclass(frozen=True)
class BrowsePage:
    """What the Browse page shows for one view."""

    view: BrowseView
    """The view read, its page number clamped to the pages that exist."""
    total: int
    """Records matching the filter; with `exact` False, more than this many match (a capped text search)."""
    n_pages: int
    """Pages that can be read: those of a capped search reach its first TEXT_PAGE_DEPTH matches only."""
    rows: pd.DataFrame
    """`records_repo.LIST_COLUMNS` plus `overall` (Int64), `override` ('' for none, else 'force keep' or 'force
    drop'), `tags` (sorted lists) and, with anchors on, A1..A15 (masked cells blank)."""
    synthetic: bool
    """Whether the page, or the filter's matches, include synthetic records."""
    masked: dict[str, list[str]] = field(default_factory=dict)
    """{source: masked anchors} for the sources on the page, when the anchor columns are shown."""
    exact: bool = True
    """Whether `total` is the exact number of matches (False: a text search matching more than `total`)."""

    @property
    def total_label(self) -> str:
        """'1,234' or 'more than 10,000', for the page's count line and bulk actions."""
        return f"{self.total:,}" if self.exact else f"more than {self.total:,}"

    @property
    def first_row(self) -> int:
        """1-based number of the first record shown (0 when nothing matches)."""
        return (self.view.page - 1) * self.view.page_size + 1 if self.total else 0

    @property
    def last_row(self) -> int:
        """1-based number of the last record shown (0 when nothing matches)."""
        return self.first_row + len(self.rows) - 1 if self.total else 0


TEXT_COUNT_CAP = 10_000
"""A text search counts its matches up to this many, then says "more than"."""
TEXT_PAGE_DEPTH = 500
"""Past TEXT_COUNT_CAP matches, pages reach this many: each row before the page is tested against the text
index (~20-40 µs a row on SQLite), so a page 10,000 rows deep into a word found in 12% of records took 1.4 s."""


def load_browse_page(conn: Connection, view: BrowseView, *, store_has_synthetic: bool) -> BrowsePage:
    """Count the matches, clamp the page number, read one page of rows with their latest scores.

    `store_has_synthetic` (cached by the caller) skips the filter's synthetic check on a real corpus. A text
    search matching more than TEXT_COUNT_CAP records is not counted further (that read every match twice:
    seconds for a common word at millions of records); its page is then read in sort order, testing each
    row against the text index, which finds a page of a common word's matches after a few rows, and its
    pages reach the first TEXT_PAGE_DEPTH matches. A search matching fewer reads its matches, then sorts.
    """
    flt = view.filter
    count = records_repo.count_capped(conn, flt, TEXT_COUNT_CAP)
    total = count.n
    n_pages = max(1, math.ceil((total if count.exact else TEXT_PAGE_DEPTH) / view.page_size))
    view = view.model_copy(update={"page": min(max(1, int(view.page)), n_pages)})
    offset = (view.page - 1) * view.page_size
    rows = records_repo.list_records(conn, flt, sort=view.sort, offset=offset, limit=view.page_size,
                                     total=total if count.exact else None, text_count=count)
    ids = rows.record_id.tolist()
    scores = records_repo.latest_overall(conn, ids)
    rows["overall"] = pd.array([scores.get(r) for r in rows.record_id], dtype="Int64")
    notes = annotations_repo.page_annotations(conn, ids)
    rows["override"] = [OVERRIDE_LABELS[notes[r].override] if r in notes else "" for r in ids]
    rows["tags"] = [notes[r].tags if r in notes else [] for r in ids]
    masked: dict[str, list[str]] = {}
    if view.anchors:
        mask = active_mask(conn)
        rows = pd.concat([rows, anchor_columns(rows, records_repo.latest_anchor_scores(conn, ids), mask)], axis=1)
        masked = masked_slots(sorted(set(rows.source)), mask)
    unseen = not count.exact or total > len(rows)  # matches not on this page
    synthetic = bool(rows.synthetic.any()) or (store_has_synthetic and unseen and records_repo.has_synthetic(conn, flt))
    return BrowsePage(view, total, n_pages, rows, synthetic, masked, count.exact)


OVERRIDE_LABELS = {"none": "", "force_keep": "force keep", "force_drop": "force drop"}
FILTER_COLUMNS = ("source", "agent", "model", "format")


def filter_choices(conn: Connection) -> dict[str, list[str]]:
    """Distinct values of each filterable column (a few small index scans), for the filter widgets."""
    return {c: records_repo.distinct_values(conn, c) for c in FILTER_COLUMNS}


def token_bounds(conn: Connection) -> tuple[int, int]:
    """Smallest and largest token estimate in the store (for the token-range placeholders)."""
    return records_repo.token_range(conn)


def store_has_synthetic(conn: Connection) -> bool:
    """Whether any record in the store is synthetic (a scan when the answer is no: callers cache it)."""
    return records_repo.has_synthetic(conn, RecordFilter())


def tag_names(conn: Connection) -> list[str]:
    """Every tag in use, most used first."""
    return [str(t) for t in annotations_repo.tag_counts(conn).tag.tolist()]
