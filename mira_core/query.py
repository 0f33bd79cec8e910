"""The filter and sort a curator builds on Browse; shared by pages, the CLI and jobs (frozen selections)."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mira_core.dimensions import SLOTS
from mira_core.records import Outcome

SortColumn = Literal[
    "imported_at", "token_estimate", "n_steps", "n_errors", "instance_id", "source", "record_id", "overall"
]
"""`overall` is the latest complete student score's overall (records without one sort last either way)."""

OverrideFilter = Literal["force_keep", "force_drop", "any", "none"]
"""force_keep / force_drop: that override; any: either of them; none: no override (never annotated counts)."""

SpotCheckFilter = Literal["in_spot_check", "reviewed", "not_reviewed"]
"""in_spot_check: an item of any spot check; reviewed: has a human score in one; not_reviewed: has an item
still waiting for review (neither scored nor skipped). A record in two spot checks can match both."""

Recommendation = Literal["keep", "downsample", "drop"]
"""The student's recommendation field (mira_core.scoring.parse.RECOMMENDATIONS)."""


class ScoredBy(BaseModel):
    """A scorer run: one of these judge names with this prompt version (see `scores.judge`, `prompt_version`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    judges: list[str] = Field(min_length=1, description="Judge names as stored, e.g. the model and its -SIMULATED twin.")
    prompt_version: str = Field(min_length=1)


def search_words(text: str) -> list[str]:
    """The words a full-text query looks for: split at spaces and quotes, each with a letter or digit.

    The search box takes words, not the index's query syntax; a word of punctuation alone (`-`, `*`, a
    backslash) has nothing the text indexes store, so it is left out on both back ends alike.
    """
    return [w for w in text.replace('"', " ").split() if any(c.isalnum() for c in w)]


class RecordFilter(BaseModel):
    """Which records a view or job covers. Empty lists mean "no constraint"."""

    model_config = ConfigDict(extra="forbid")

    sources: list[str] = Field(default_factory=list)
    outcomes: list[Outcome] = Field(default_factory=list)
    agents: list[str] = Field(default_factory=list)
    models: list[str] = Field(default_factory=list)
    formats: list[str] = Field(default_factory=list)
    min_tokens: int | None = None
    max_tokens: int | None = None
    text: str = Field(default="", description="Full-text query over issue, instance id and patch.")
    record_ids: list[str] | None = Field(default=None, description="Explicit ids (a frozen selection).")
    tags: list[str] = Field(default_factory=list, description="Records carrying ALL of these tags (narrows).")
    override: OverrideFilter | None = None
    spot_check: SpotCheckFilter | None = None
    scored: bool | None = Field(default=None, description="Has (True) / lacks (False) a complete student score.")
    not_scored_by: ScoredBy | None = Field(
        default=None, description="Lacks a complete student score from this judge and prompt version (what to re-score)."
    )
    min_overall: int | None = Field(default=None, ge=0, le=100, description="Latest complete student score.")
    max_overall: int | None = Field(default=None, ge=0, le=100, description="Latest complete student score.")
    recommendations: list[Recommendation] = Field(
        default_factory=list, description="The latest complete student score recommends one of these."
    )
    dim_min: dict[str, float] = Field(
        default_factory=dict, description='Per-dimension minimum on the latest complete student score, {"A3": 7}.'
    )

    @field_validator("dim_min")
    @classmethod
    def _known_dimensions(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [k for k in v if k not in SLOTS]
        if bad:
            raise ValueError(f"unknown dimension(s) {', '.join(map(repr, bad))}: expected A1..A15")
        if not all(math.isfinite(x) for x in v.values()):
            raise ValueError("dimension minimums must be finite numbers")
        return dict(sorted(v.items(), key=lambda kv: int(kv[0][1:])))


class SortKey(BaseModel):
    """Sort column and direction; ties break on record id so pages are stable."""

    model_config = ConfigDict(extra="forbid")

    column: SortColumn = "imported_at"
    descending: bool = True
