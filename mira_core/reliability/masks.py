"""Dimension masks: which source x dimension cells are unreliable, and why.

A mask is built from threshold rules over the reliability matrix, then curator overrides (force masked
or force unmasked, each with a written reason) win over the rules. The JSON form
`{source: {slot: {"masked": bool, "reason": str}}}` lets the MIRA repository's own mask be applied;
source "*" means every source (a specific source's entry wins over it).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Literal, NamedTuple

import numpy as np
import pandas as pd
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, RootModel, ValidationError, field_validator

from mira_core.dimensions import SLOTS, is_slot
from mira_core.errors import MiraError
from mira_core.reliability.metrics import ALL_SOURCES

WILDCARD = "*"
DecidedBy = Literal["rule", "curator", "import"]


class MaskFormatError(MiraError):
    """A mask JSON file or override does not have the expected shape."""


class Cell(NamedTuple):
    """One source x dimension cell."""

    source: str
    slot: str


class MaskRules(BaseModel):
    """Thresholds a curator sets: a cell is masked when it breaks any of them."""

    model_config = ConfigDict(extra="forbid")

    max_mae: float | None = Field(default=2.0, ge=0, description="Mask when student-teacher MAE exceeds this.")
    min_rho: float | None = Field(default=0.3, ge=-1, le=1, description="Mask when Spearman rho is below this.")
    min_n: int = Field(default=30, ge=0, description="Fewer complete pairs than this is too little evidence.")
    mask_too_few: bool = Field(default=True, description="Mask cells with too little evidence (unverified).")


class CellDecision(BaseModel):
    """Whether one cell is masked, the human-readable reason, and who decided it."""

    model_config = ConfigDict(extra="forbid")

    masked: bool
    reason: str
    by: DecidedBy = "rule"


class Override(BaseModel):
    """A curator forcing a cell masked or unmasked; the written reason is required."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1)
    slot: str
    masked: bool
    reason: str

    @field_validator("slot")
    @classmethod
    def _known_slot(cls, v: str) -> str:
        return _known_slot(v)

    @field_validator("reason")
    @classmethod
    def _written_reason(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("a curator override needs a written reason")
        return v.strip()


@dataclass
class Mask:
    """The decided cells; cells not listed are unmasked."""

    cells: dict[Cell, CellDecision] = field(default_factory=dict)

    def decision(self, source: str, slot: str) -> CellDecision | None:
        """The decision for a cell, falling back to the wildcard source."""
        return self.cells.get(Cell(source, slot)) or self.cells.get(Cell(WILDCARD, slot))

    def is_masked(self, source: str, slot: str) -> bool:
        """True when the cell is masked (directly or through the wildcard source)."""
        d = self.decision(source, slot)
        return bool(d and d.masked)

    def as_array(self, sources: Sequence[str]) -> np.ndarray:
        """[len(sources), 15] booleans, True where masked (the selection aggregates take this)."""
        return np.array([[self.is_masked(src, slot) for slot in SLOTS] for src in sources], dtype=bool).reshape(
            len(sources), len(SLOTS))

    def masked_cells(self) -> set[Cell]:
        """Cells explicitly masked (wildcard entries stay as `*`)."""
        return {c for c, d in self.cells.items() if d.masked}


def _fmt(x: float) -> str:
    return f"{x:.2f}"


def rule_reason(row: pd.Series | dict, rules: MaskRules) -> str | None:
    """Why a matrix row breaks the rules ("; "-joined), or None when it passes."""
    n = int(row["n"])
    if n < rules.min_n:
        return f"too few pairs (n={n} < {rules.min_n})" if rules.mask_too_few else None
    reasons = []
    mae, rho = float(row["mae"]), float(row["rho"])
    if rules.max_mae is not None and not math.isnan(mae) and mae > rules.max_mae:
        reasons.append(f"MAE {_fmt(mae)} > {_fmt(rules.max_mae)}")
    if rules.min_rho is not None:
        if math.isnan(rho):
            reasons.append("rho undefined (a judge gave one constant score)")
        elif rho < rules.min_rho:
            reasons.append(f"rho {_fmt(rho)} < {_fmt(rules.min_rho)}")
    return "; ".join(reasons) or None


def apply_rules(matrix: pd.DataFrame, rules: MaskRules) -> dict[Cell, CellDecision]:
    """Cells of real sources (not the "all sources" row) that the rules mask, with their reasons."""
    out: dict[Cell, CellDecision] = {}
    for row in matrix[matrix["source"] != ALL_SOURCES].to_dict("records"):
        reason = rule_reason(row, rules)
        if reason:
            out[Cell(str(row["source"]), str(row["slot"]))] = CellDecision(masked=True, reason=reason, by="rule")
    return out


def build_mask(matrix: pd.DataFrame, rules: MaskRules, overrides: Sequence[Override] = ()) -> Mask:
    """Rules first, then curator overrides, which always win (a forced unmask is kept as a decision)."""
    cells = apply_rules(matrix, rules)
    for o in overrides:
        cells[Cell(o.source, o.slot)] = CellDecision(masked=o.masked, reason=o.reason, by="curator")
    return Mask(cells=cells)


def curator_overrides(mask: Mask) -> list[Override]:
    """The curator's decisions in `mask` as overrides, by cell: a mask rebuilt from new rules keeps them."""
    return [Override(source=c.source, slot=c.slot, masked=d.masked, reason=d.reason)
            for c, d in sorted(mask.cells.items()) if d.by == "curator"]


class _FileCell(BaseModel):
    model_config = ConfigDict(extra="forbid")

    masked: bool
    reason: str = ""
    by: DecidedBy | None = None




def _known_slot(v: str) -> str:
    if not is_slot(v):
        raise ValueError(f"unknown dimension {v!r}: expected one of A1..A15")
    return v


_Slot = Annotated[str, AfterValidator(_known_slot)]


class _MaskFile(RootModel[dict[str, dict[_Slot, _FileCell]]]):
    pass


def mask_to_json(mask: Mask) -> str:
    """The mask as `{source: {slot: {masked, reason, by}}}`, sorted so exports diff cleanly."""
    out: dict[str, dict[str, dict]] = {}
    for cell, d in sorted(mask.cells.items(), key=lambda kv: (kv[0].source, SLOTS.index(kv[0].slot))):
        out.setdefault(cell.source, {})[cell.slot] = {"masked": d.masked, "reason": d.reason, "by": d.by}
    return json.dumps(out, indent=2, ensure_ascii=False) + "\n"


def mask_from_json(text: str, *, where: str = "mask") -> Mask:
    """Parse a mask JSON document; errors name the place (`where`, source, slot, field)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MaskFormatError(f"{where}:{exc.lineno}: not valid JSON ({exc.msg})") from exc
    try:
        parsed = _MaskFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise MaskFormatError(
            f"{where}: at {loc}: {first['msg']} (expected {{source: {{A1..A15: {{masked, reason}}}}}})"
        ) from exc
    cells = {}
    for source, slots in parsed.root.items():
        if not source.strip():
            raise MaskFormatError(f"{where}: empty source name")
        for slot, entry in slots.items():
            cells[Cell(source, slot)] = CellDecision(masked=entry.masked, reason=entry.reason, by=entry.by or "import")
    return Mask(cells=cells)
