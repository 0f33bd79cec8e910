"""Selection policies: a named, saved set of cuts with everything needed to reproduce its keep list.

A policy freezes the mask cells it was made with (not just the mask version id), so re-exporting it gives
the same list even after the active mask changes; only new scores or records change the result.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from mira_core.dimensions import N_SLOTS, SLOTS
from mira_core.selection.aggregate import Criterion
from mira_core.selection.preview import Cut, CutMode, PreviewSettings
from mira_core.selection.solver import BudgetRule

WILDCARD = "*"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$"
Recommendation = Literal["keep", "downsample", "drop"]


def _default_downsample() -> list[Recommendation]:
    return ["downsample"]


class CutSpec(BaseModel):
    """One source's slider: a threshold on the aggregate, or keep the top `value`% of records or tokens."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: CutMode
    value: float

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("a cut value must be a finite number")
        return v

    def cut(self) -> Cut:
        """The preview's form of this cut."""
        return Cut(self.mode, self.value)


class ScorerRule(BaseModel):
    """Which student score counts for a record: the latest complete one, optionally of one model/prompt."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    judge: str | None = Field(default=None, description="Only scores by this model (None: any).")
    prompt_version: str | None = Field(default=None, description="Only scores made with this prompt version.")


class Policy(BaseModel):
    """A saved selection policy (see the module docstring for why the mask cells are frozen)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN, description="Unique; letters, digits, '_', '.', '-'.")
    criterion: Criterion = Field(default="mean", description="What the cuts apply to.")
    cuts: dict[str, CutSpec] = Field(default_factory=dict, description="Per source; a source without one keeps nothing.")
    global_cut: CutSpec | None = Field(default=None, description="MIRA-Global: one cut for all sources.")
    mask_version: int | None = Field(default=None, description="The mask version the cells were taken from.")
    masked_cells: dict[str, list[str]] = Field(default_factory=dict, description="source ('*' = all) -> slots.")
    scorer: ScorerRule = Field(default_factory=ScorerRule)
    budget_tokens: int | None = Field(default=None, ge=0, description="Target the page compares against.")
    budget_rule: BudgetRule | None = Field(default=None, description="Solver rule that set the cuts, if any.")
    budget_request: str | None = Field(
        default=None, max_length=80,
        description="What the curator asked the solver for, as typed ('50 % of corpus', '2000000 tokens').")
    downsample_weight: float = Field(default=0.5, ge=0.0, le=1.0, description="Sampling weight of downsampled records.")
    downsample_recommendations: list[Recommendation] = Field(
        default_factory=_default_downsample,
        description="Kept records with these scorer recommendations are downsampled.",
    )
    note: str = ""
    created_by: str = Field(default="", description="Who first saved it (`save_policy` sets it from the actor).")
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @field_validator("masked_cells")
    @classmethod
    def _known_slots(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for source, slots in v.items():
            bad = [s for s in slots if s not in SLOTS]
            if bad:
                raise ValueError(f"masked_cells[{source!r}]: unknown dimension(s) {bad}; expected A1..A15")
        return {s: sorted(set(slots), key=SLOTS.index) for s, slots in sorted(v.items())}

    def preview_settings(self) -> PreviewSettings:
        """The preview's settings for this policy."""
        return PreviewSettings(
            cuts={s: c.cut() for s, c in self.cuts.items()},
            global_cut=self.global_cut.cut() if self.global_cut else None,
            budget_tokens=self.budget_tokens,
            downsample_weight=self.downsample_weight,
            downsample_recommendations=tuple(self.downsample_recommendations),
        )

    def mask_array(self, sources: tuple[str, ...]) -> np.ndarray:
        """[n_sources, 15] True where masked (a '*' entry applies to every source)."""
        return mask_array(self.masked_cells, sources)


def mask_array(cells: dict[str, list[str]], sources: tuple[str, ...]) -> np.ndarray:
    """[n_sources, 15] boolean mask from {source or '*': [slots]}; a source's own entry wins over '*'."""
    out = np.zeros((len(sources), N_SLOTS), dtype=bool)
    for i, source in enumerate(sources):
        slots = cells.get(source, cells.get(WILDCARD, []))
        out[i, [SLOTS.index(s) for s in slots]] = True
    return out


def freeze_cells(is_masked: Callable[[str, str], bool], sources: tuple[str, ...],
                 wildcard_slots: list[str]) -> dict[str, list[str]]:
    """Masked cells expanded per known source (so a source's forced unmask survives), plus '*' for new sources."""
    cells = {s: [slot for slot in SLOTS if is_masked(s, slot)] for s in sources}
    cells[WILDCARD] = [slot for slot in SLOTS if slot in wildcard_slots]
    return cells
