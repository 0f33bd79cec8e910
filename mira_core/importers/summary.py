"""What an import did: the counts, the rejections and the skipped items or files, each with place and reason."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypedDict


@dataclass
class Rejection:
    """One item that was not imported."""

    where: str
    reason: str


class SummaryDict(TypedDict):
    """`ImportSummary.as_dict()`: the counts, JSON-ready."""

    files: int
    imported: int
    already_present: int
    rejected: int
    skipped: int
    reports: int
    outcomes_joined: int
    layouts: dict[str, int]


@dataclass
class ImportSummary:
    """What an import did; printed by the CLI and shown by pages."""

    files: int = 0
    imported: int = 0
    present: int = 0
    reports: int = 0
    outcomes_joined: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    skipped: list[Rejection] = field(default_factory=list)  # understood, nothing to import (with the reason)
    layouts: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> SummaryDict:
        """JSON-ready summary."""
        return {
            "files": self.files,
            "imported": self.imported,
            "already_present": self.present,
            "rejected": len(self.rejected),
            "skipped": len(self.skipped),
            "reports": self.reports,
            "outcomes_joined": self.outcomes_joined,
            "layouts": self.layouts,
        }


@dataclass(frozen=True)
class Progress:
    """Progress of an import in bytes of input read."""

    bytes_done: int
    bytes_total: int
    imported: int
    rejected: int


ProgressFn = Callable[[Progress], None]
