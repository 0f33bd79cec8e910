"""Selection's data in the database: the active mask frozen for a policy.

Storage returns plain rows; this module turns them into selection's own types.
"""

from __future__ import annotations

from sqlalchemy import Connection

from mira_core.reliability.mask_store import load_mask
from mira_core.selection.policies import WILDCARD, freeze_cells
from mira_core.storage.reliability_repo import active_mask_version


def active_mask_cells(conn: Connection, sources: tuple[str, ...]) -> tuple[int | None, dict[str, list[str]]]:
    """(active mask version id, its masked cells frozen per source plus '*'); no mask saved -> (None, {})."""
    version = active_mask_version(conn)
    if version is None:
        return None, {}
    mask = load_mask(conn, version)
    wildcard = [c.slot for c in mask.masked_cells() if c.source == WILDCARD]
    return version, freeze_cells(mask.is_masked, sources, wildcard)
