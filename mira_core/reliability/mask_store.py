"""Mask versions in the database: a `Mask` stored as cell rows and read back.

Storage keeps the rows (`reliability_repo.MaskCellRow`) and knows nothing of `Mask`; this module turns one
into the other, and is the one place callers above storage save, load and activate versions. Saving a
version needs the curator role; making one active (also by saving it with `activate=True`) needs the admin
role, since the active mask changes what every page and selection drops. Both go into the activity log
(`mask.save`, `mask.activate`) in the caller's transaction.
"""

from __future__ import annotations

from typing import cast

from mira_core.identity import Actor, Role, require
from mira_core.reliability.masks import Cell, CellDecision, DecidedBy, Mask, MaskFormatError, MaskRules
from mira_core.storage import Connection
from mira_core.storage import reliability_repo as repo
from mira_core.team import record_change

ACTIVATING = "activating a mask version"


def save_mask_version(conn: Connection, *, name: str, mask: Mask, rules: MaskRules | None, actor: Actor,
                      note: str = "", activate: bool = True) -> int:
    """Store a named mask version with all its cells; returns its id (optionally made the active one).

    Raises PermissionDenied for a viewer, and for a curator when `activate` is set (nothing is written).
    """
    require(actor, Role.curator, "saving mask versions")
    if activate:
        require(actor, Role.admin, ACTIVATING)
    if not name.strip():
        raise MaskFormatError("a mask version needs a name (e.g. --name 'paper mask')")
    cells = [repo.MaskCellRow(c.source, c.slot, d.masked, d.reason, d.by) for c, d in mask.cells.items()]
    previous = repo.active_mask_version(conn) if activate else None
    version_id = repo.insert_mask_version(conn, name=name.strip(), cells=cells,
                                          rules_json=rules.model_dump_json() if rules else "{}",
                                          created_by=actor.user_id, note=note, activate=activate)
    record_change(conn, actor, "mask.save", target_kind="mask", target_id=str(version_id), name=name.strip(),
                  masked=len(mask.masked_cells()), cells=len(cells))
    if activate:
        record_change(conn, actor, "mask.activate", target_kind="mask", target_id=str(version_id), previous=previous)
    return version_id


def load_mask(conn: Connection, version_id: int) -> Mask:
    """The cells of one mask version (NotFoundError when there is no such version)."""
    # decided_by only ever holds what CellDecision.by allowed when the version was saved.
    return Mask(cells={
        Cell(r.source, r.slot): CellDecision(masked=r.masked, reason=r.reason, by=cast(DecidedBy, r.decided_by))
        for r in repo.mask_cell_rows(conn, version_id)
    })


def active_mask(conn: Connection) -> Mask:
    """The active mask (empty when none is saved): what the record page and aggregation apply."""
    version = repo.active_mask_version(conn)
    return load_mask(conn, version) if version is not None else Mask()


def activate_mask_version(conn: Connection, version_id: int, *, actor: Actor) -> None:
    """Make one saved version the active mask.

    Raises PermissionDenied unless `actor` is an admin, NotFoundError when there is no such version.
    """
    require(actor, Role.admin, ACTIVATING)
    previous = repo.active_mask_version(conn)
    repo.activate_mask_version(conn, version_id)
    record_change(conn, actor, "mask.activate", target_kind="mask", target_id=str(version_id), previous=previous)
