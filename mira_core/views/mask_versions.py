"""The Reliability screen's mask versions: the saved versions, one version's cells, the preview's start."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from mira_core.reliability.mask_store import active_mask, load_mask
from mira_core.reliability.masks import WILDCARD, Cell, MaskRules, Override, curator_overrides, mask_to_json
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


@dataclass(frozen=True)
class ActiveMaskView:
    """The active mask version, as the Reliability page names it and starts its rules from."""

    version_id: int
    name: str
    created_by: str
    created_at: datetime
    n_masked: int
    """Source x dimension cells it masks (wildcard entries left out)."""
    masked_cells: list[Cell]
    """Those cells, sorted: what "Spot-check the masked cells" reviews."""
    rules: MaskRules | None
    """The rules it was saved with; None for an imported version (no rules)."""

    @property
    def line(self) -> str:
        """'Active mask: v2 “paper mask” by ann on 2026-11-30 14:02 UTC, 11 cells masked' (plain text)."""
        return (f"Active mask: v{self.version_id} “{self.name}” by {self.created_by} on "
                f"{self.created_at:%Y-%m-%d %H:%M} UTC, {self.n_masked} cells masked")


def load_active_version(conn: Connection) -> ActiveMaskView | None:
    """The active version with its rules and masked cells; None before any mask is made active."""
    version = repo.active_mask_version(conn)
    if version is None:
        return None
    row = next(r for r in repo.list_mask_versions(conn).itertuples() if int(r.version_id) == version)
    rules_json = str(row.rules_json or "{}")
    rules = MaskRules.model_validate_json(rules_json) if rules_json.strip() not in ("", "{}") else None
    cells = sorted(c for c in load_mask(conn, version).masked_cells() if c.source != WILDCARD)
    return ActiveMaskView(version, str(row.name), str(row.created_by), row.created_at, len(cells), cells, rules)
