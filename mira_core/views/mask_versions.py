"""The Reliability screen's mask versions: the saved versions, one version's cells, the preview's start."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from mira_core.reliability.mask_store import active_mask, load_mask
from mira_core.reliability.masks import Override, curator_overrides, mask_to_json
from mira_core.storage import Connection
from mira_core.storage import reliability_repo as repo

VERSION_COLUMNS = ("version_id", "name", "active", "masked", "created_by", "created_at", "note")
CELL_COLUMNS = ("source", "slot", "masked", "decided by", "reason")


def load_mask_versions(conn: Connection) -> pd.DataFrame:
    """Saved versions, newest first (VERSION_COLUMNS; `masked` counts the version's masked cells)."""
    return repo.list_mask_versions(conn)[list(VERSION_COLUMNS)]


@dataclass(frozen=True, eq=False)
class MaskVersionView:
    """One saved version, as the page lists and offers it for download."""

    version_id: int
    """The version's id (newest is highest)."""
    cells: pd.DataFrame
    """Every decided cell, sorted by source and slot (CELL_COLUMNS; `decided by` is rule, curator or import)."""
    n_masked: int
    """Cells the version masks."""
    json: str
    """The version as mask JSON (`{source: {slot: {masked, reason}}}`), the form `mask_from_json` reads."""


def load_mask_version(conn: Connection, *, version_id: int) -> MaskVersionView:
    """One version's cells and JSON (NotFoundError when there is no such version)."""
    mask = load_mask(conn, version_id)
    cells = pd.DataFrame([(c.source, c.slot, d.masked, d.by, d.reason) for c, d in sorted(mask.cells.items())],
                         columns=list(CELL_COLUMNS))
    return MaskVersionView(version_id, cells, len(mask.masked_cells()), mask_to_json(mask))


def load_curator_overrides(conn: Connection) -> list[Override]:
    """The active version's curator decisions.

    Where a new preview starts, so a version built from changed thresholds never silently drops an earlier
    curator decision.
    """
    return curator_overrides(active_mask(conn))
