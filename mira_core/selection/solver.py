"""The token-budget solver: per-source cuts whose kept tokens meet a total budget.

Both rules pool the scored records of every source into one order and keep the longest prefix whose tokens
fit what the budget leaves after force_keep records:
- "highest_first": highest aggregate first across the group (ties by record id, like the per-source order);
- "same_quantile": each source's j-th best record sits at quantile (j+1)/m_s; pooling by that quantile
  keeps every source at the same retention rate (within one record) whatever its scale of scores.
A prefix of one pooled order is a prefix of each source's own order, so the result is a per-source
record count; it never exceeds the budget, falls short by less than the next record's tokens, and
grows with the budget (each source's count is monotone).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from mira_core.selection.preview import Cut, Precomputed

BudgetRule = Literal["same_quantile", "highest_first"]
BUDGET_RULES: tuple[BudgetRule, ...] = ("same_quantile", "highest_first")


@dataclass(frozen=True)
class Solution:
    """Per-source record counts and the cuts that reproduce them (top p% of records)."""

    counts: dict[str, int]
    cuts: dict[str, Cut]
    thresholds: dict[str, float]
    kept_tokens: int
    budget_tokens: int
    feasible: bool

    @property
    def shortfall(self) -> int:
        """Budget minus kept tokens (never negative when feasible)."""
        return self.budget_tokens - self.kept_tokens


def budget_from_percent(pre: Precomputed, percent: float) -> int:
    """A budget given as a percentage of the whole corpus's tokens (scored or not)."""
    return round(min(max(percent, 0.0), 100.0) / 100.0 * int(pre.data.tokens.sum()))


def _pooled(pre: Precomputed, rule: BudgetRule) -> tuple[np.ndarray, np.ndarray]:
    """(source code per pooled position, cumulative tokens with a leading 0) for the rule's order."""
    if rule == "highest_first":
        return pre.data.source_codes[pre.pooled_order], pre.pooled_cum_tokens
    if rule != "same_quantile":
        raise ValueError(f"unknown budget rule {rule!r}: expected one of {', '.join(BUDGET_RULES)}")
    keys, codes, tokens = [], [], []
    for code, sa in enumerate(pre.per_source):
        keys.append((np.arange(sa.m) + 1.0) / max(sa.m, 1))
        codes.append(np.full(sa.m, code, dtype=np.int16))
        tokens.append(pre.data.tokens[sa.order])
    key = np.concatenate(keys) if keys else np.zeros(0)
    order = np.argsort(key, kind="stable")  # ties: lower source code first (blocks are in code order)
    cum = np.zeros(len(order) + 1, dtype=np.int64)
    np.cumsum(np.concatenate(tokens)[order], out=cum[1:])
    return np.concatenate(codes)[order], cum


def solve_budget(pre: Precomputed, budget_tokens: int, rule: BudgetRule = "same_quantile") -> Solution:
    """Per-source cuts keeping as many tokens as fit in `budget_tokens` (force_keep records count first)."""
    forced = sum(sa.counts["force_keep"][1] for sa in pre.per_source)
    src, cum = _pooled(pre, rule)
    room = budget_tokens - forced
    k = int(np.searchsorted(cum, room, side="right")) - 1 if room >= 0 else 0
    per = np.bincount(src[:k], minlength=len(pre.per_source)) if k else np.zeros(len(pre.per_source), dtype=int)
    counts = {sa.name: int(n) for sa, n in zip(pre.per_source, per, strict=True)}
    cuts = {sa.name: Cut("top_records", 100.0 * counts[sa.name] / sa.m if sa.m else 0.0) for sa in pre.per_source}
    thresholds = {sa.name: float(sa.values[counts[sa.name] - 1]) if counts[sa.name] else float("inf")
                  for sa in pre.per_source}
    return Solution(counts=counts, cuts=cuts, thresholds=thresholds, kept_tokens=int(cum[k]) + forced,
                    budget_tokens=int(budget_tokens), feasible=room >= 0)
