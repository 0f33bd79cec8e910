"""The filter and sort a curator builds on Browse; shared by pages, the CLI and jobs (frozen selections)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mira_core.records import Outcome

SortColumn = Literal["imported_at", "token_estimate", "n_steps", "n_errors", "instance_id", "source", "record_id"]


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


class SortKey(BaseModel):
    """Sort column and direction; ties break on record id so pages are stable."""

    model_config = ConfigDict(extra="forbid")

    column: SortColumn = "imported_at"
    descending: bool = True
