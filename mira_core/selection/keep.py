"""The keep list of a policy: which records are kept, with what decision and sampling weight.

Pure: from precomputed arrays and a policy to index arrays in record-id order (the export's row order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mira_core.selection.aggregate import RECOMMENDATIONS, STATUS_FORCE_KEEP
from mira_core.selection.policies import Policy
from mira_core.selection.preview import Precomputed, Preview, preview

DECISIONS = ("keep", "downsample", "force_keep")


@dataclass(frozen=True)
class KeepList:
    """Kept records in record-id order: positions into the data, decision codes (DECISIONS), weights, values."""

    index: np.ndarray
    decision: np.ndarray
    weight: np.ndarray
    value: np.ndarray
    preview: Preview

    def __len__(self) -> int:
        return len(self.index)

    def record_ids(self, pre: Precomputed) -> list[str]:
        """The kept record ids as text."""
        return [rid.decode("ascii") for rid in pre.data.record_ids[self.index]]


def keep_list(pre: Precomputed, policy: Policy) -> KeepList:
    """Records the policy keeps: each source's cut prefix plus every force_keep record."""
    settings = policy.preview_settings()
    p = preview(pre, settings)
    cut = [sa.order[:k] for sa, k in zip(pre.per_source, p.counts, strict=True)]
    cut_idx = np.concatenate(cut) if cut else np.zeros(0, dtype=np.intp)
    forced = np.flatnonzero(pre.status == STATUS_FORCE_KEEP)
    ds_codes = [RECOMMENDATIONS.index(r) for r in settings.downsample_recommendations]
    cut_decision = np.where(np.isin(pre.data.recommendation[cut_idx], ds_codes), 1, 0)
    index = np.concatenate([cut_idx, forced]).astype(np.intp)
    decision = np.concatenate([cut_decision, np.full(len(forced), 2)]).astype(np.int8)
    order = np.argsort(index, kind="stable")  # data is in record-id order
    index, decision = index[order], decision[order]
    weight = np.where(decision == 1, settings.downsample_weight, 1.0)
    return KeepList(index=index, decision=decision, weight=weight, value=pre.values[index], preview=p)
