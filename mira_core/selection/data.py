"""The numeric arrays selection works on: one entry per record, no text beyond ids.

`store.load_selection_data` fills this from one query of numeric columns and short codes; the bench and
tests build it from code. Record ids are fixed-width bytes so 2.3M of them stay compact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mira_core.dimensions import N_SLOTS
from mira_core.selection.aggregate import OVERRIDE_NONE, REC_NONE

OUTCOME_UNKNOWN, OUTCOME_NOT_RESOLVED, OUTCOME_RESOLVED = -1, 0, 1


@dataclass(frozen=True)
class SelectionData:
    """Per-record arrays (length n) for a corpus, sorted by record id.

    `sources` names the source codes; `scores` is [n, 15] with NaN where a slot is missing; `recommendation`
    holds indexes into `aggregate.RECOMMENDATIONS` (-1 none); `override` holds OVERRIDE_* codes.
    """

    record_ids: np.ndarray
    sources: tuple[str, ...]
    source_codes: np.ndarray
    tokens: np.ndarray
    outcome: np.ndarray
    scores: np.ndarray
    complete: np.ndarray
    overall: np.ndarray
    recommendation: np.ndarray
    override: np.ndarray
    tokens_measured: np.ndarray | None = None
    """True where `tokens` was measured by the scorer (its usage count), False where estimated; None: all
    estimated (generated data)."""

    def __post_init__(self) -> None:
        n = len(self.record_ids)
        for name in ("source_codes", "tokens", "outcome", "complete", "overall", "recommendation", "override"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"SelectionData.{name} has {len(getattr(self, name))} entries, expected {n}")
        if self.tokens_measured is not None and len(self.tokens_measured) != n:
            raise ValueError(f"SelectionData.tokens_measured has {len(self.tokens_measured)} entries, expected {n}")
        if self.scores.shape != (n, N_SLOTS):
            raise ValueError(f"SelectionData.scores must be [{n}, {N_SLOTS}], got {self.scores.shape}")

    @property
    def n(self) -> int:
        """Number of records."""
        return len(self.record_ids)

    def token_figures(self) -> str:
        """Where the token figures come from: 'Token figures: 1,234 records measured by the scorer, 5,678 estimated'."""
        measured = 0 if self.tokens_measured is None else int(self.tokens_measured.sum())
        return (f"Token figures: {measured:,} records measured by the scorer, {self.n - measured:,} estimated "
                "(characters ÷ 4)")

    def record_id(self, i: int) -> str:
        """The id of record `i` as text."""
        rid = self.record_ids[i]
        return rid.decode("ascii") if isinstance(rid, bytes) else str(rid)


def empty_like_defaults(n: int) -> dict[str, np.ndarray]:
    """Default arrays for fields a caller has no data for (no outcome, no recommendation, no override)."""
    return {
        "outcome": np.full(n, OUTCOME_UNKNOWN, dtype=np.int8),
        "overall": np.full(n, np.nan, dtype=np.float32),
        "recommendation": np.full(n, REC_NONE, dtype=np.int8),
        "override": np.full(n, OVERRIDE_NONE, dtype=np.int8),
    }


def make_data(
    record_ids: list[str] | np.ndarray,
    sources: tuple[str, ...],
    source_codes: np.ndarray,
    tokens: np.ndarray,
    scores: np.ndarray,
    complete: np.ndarray,
    **optional: np.ndarray,
) -> SelectionData:
    """A SelectionData sorted by record id, with defaults for the optional arrays."""
    ids = np.asarray(record_ids, dtype="S32")
    order = np.argsort(ids, kind="stable")
    n = len(ids)
    fields = empty_like_defaults(n) | {k: np.asarray(v) for k, v in optional.items()}
    return SelectionData(
        record_ids=ids[order],
        sources=tuple(sources),
        source_codes=np.asarray(source_codes, dtype=np.int16)[order],
        tokens=np.asarray(tokens, dtype=np.int64)[order],
        outcome=fields["outcome"][order],
        scores=np.asarray(scores, dtype=np.float32)[order],
        complete=np.asarray(complete, dtype=bool)[order],
        overall=fields["overall"][order],
        recommendation=fields["recommendation"][order],
        override=fields["override"][order],
        tokens_measured=None if "tokens_measured" not in fields else np.asarray(fields["tokens_measured"], bool)[order],
    )
