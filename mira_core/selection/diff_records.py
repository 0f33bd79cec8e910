"""Diff of two policies record by record, and parameter by parameter.

`diff.py` counts per source; this module names the records that enter or leave, with their aggregate under
each policy and the reason, and lists every policy setting that differs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from mira_core.selection.keep import DECISIONS, KeepList, keep_list
from mira_core.selection.policies import Policy
from mira_core.selection.preview import Precomputed

RECORD_COLUMNS = ("change", "record_id", "source", "aggregate_a", "aggregate_b", "reason")
PARAM_COLUMNS = ("parameter", "policy_a", "policy_b", "changed")
_NOT_COMPARED = {"name", "created_by", "created_at", "updated_at"}


def _fmt(x: float) -> str:
    return "unscored" if math.isnan(x) else f"{x:.3f}"


def _cut_text(policy: Policy, kl: KeepList, source: str) -> str:
    """How the policy cuts a source: 'keeps >= 7.000', or 'keeps the top 30.00% of records (down to 6.000)'."""
    cut = policy.global_cut or policy.cuts.get(source)
    if cut is None:
        return "keeps nothing of this source"
    if cut.mode == "threshold":
        return f"keeps aggregate ≥ {cut.value:.3f}"
    last = next((sp.cut_value for sp in kl.preview.sources if sp.source == source), float("nan"))
    what = "records" if cut.mode == "top_records" else "tokens"
    return f"keeps the top {cut.value:.2f}% of {what} (down to {_fmt(last)})"


def _reason(pair: tuple[Policy, Policy], lists: tuple[KeepList, KeepList], source: str, values: tuple[float, float],
            decision: int) -> str:
    """Why a record is kept under the first policy of `pair` and not under the second (A or B by name)."""
    (mine, other), (kl_mine, kl_other) = pair, lists
    before, after = values
    if DECISIONS[decision] == "force_keep":
        return "forced keep"
    if not (math.isnan(before) and math.isnan(after)) and before != after:
        return f"aggregate {_fmt(before)} → {_fmt(after)} (criterion, mask or scorer differ)"
    return f"{_cut_text(mine, kl_mine, source)}; the other {_cut_text(other, kl_other, source)}"


def record_changes(pre_a: Precomputed, a: Policy, pre_b: Precomputed, b: Policy) -> pd.DataFrame:
    """Every record entering (kept by B only) or leaving (kept by A only), RECORD_COLUMNS, by source and id."""
    kl_a, kl_b = keep_list(pre_a, a), keep_list(pre_b, b)
    ids_a, ids_b = pre_a.data.record_ids[kl_a.index], pre_b.data.record_ids[kl_b.index]
    # Both arrays follow record-id order over the same records when the data is the same; look values up by id.
    pos_a = {rid: i for i, rid in enumerate(pre_a.data.record_ids)}
    pos_b = {rid: i for i, rid in enumerate(pre_b.data.record_ids)}
    rows: list[tuple[Any, ...]] = []
    for change, kl, pre, other_ids, pair, lists in (("enters", kl_b, pre_b, ids_a, (b, a), (kl_b, kl_a)),
                                                    ("leaves", kl_a, pre_a, ids_b, (a, b), (kl_a, kl_b))):
        names = np.array(pre.data.sources, dtype=object)
        for j in np.flatnonzero(~np.isin(pre.data.record_ids[kl.index], other_ids)):
            i = int(kl.index[j])
            rid = pre.data.record_ids[i]
            va = float(pre_a.values[pos_a[rid]]) if rid in pos_a else float("nan")
            vb = float(pre_b.values[pos_b[rid]]) if rid in pos_b else float("nan")
            source = str(names[pre.data.source_codes[i]])
            reason = _reason(pair, lists, source, (va, vb), int(kl.decision[j]))
            rows.append((change, rid.decode("ascii"), source, va, vb, reason))
    out = pd.DataFrame(rows, columns=list(RECORD_COLUMNS))
    return out.sort_values(["source", "change", "record_id"], kind="stable").reset_index(drop=True)


def _flat(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for k in sorted(value):
            _flat(value[k], f"{prefix}.{k}" if prefix else str(k), out)
    else:
        out[prefix] = value


def _show(value: Any) -> str:
    if value is None or value == {}:
        return "–"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "–"
    return str(value)


def param_changes(a: Policy, b: Policy) -> pd.DataFrame:
    """Every setting of either policy (dotted names, e.g. `cuts.src.value`), PARAM_COLUMNS, changed ones first."""
    fa: dict[str, Any] = {}
    fb: dict[str, Any] = {}
    _flat(a.model_dump(mode="json", exclude=_NOT_COMPARED), "", fa)
    _flat(b.model_dump(mode="json", exclude=_NOT_COMPARED), "", fb)
    keys = sorted(set(fa) | set(fb))
    rows = [(k, _show(fa.get(k)), _show(fb.get(k)), fa.get(k) != fb.get(k)) for k in keys]
    out = pd.DataFrame(rows, columns=list(PARAM_COLUMNS))
    return out.sort_values("changed", ascending=False, kind="stable").reset_index(drop=True)
