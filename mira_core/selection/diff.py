"""Diff of two policies: which records enter or leave the keep list, per source, with tokens."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mira_core.selection.keep import keep_list
from mira_core.selection.policies import Policy
from mira_core.selection.preview import Precomputed, as_weights, precompute
from mira_core.selection.store import get_policy, load_selection_data
from mira_core.storage import Engine, read_conn

SAMPLE = 20


@dataclass(frozen=True)
class SourceDiff:
    """Going from policy A to policy B in one source: records (and tokens) that enter and that leave."""

    source: str
    entering: int
    entering_tokens: int
    leaving: int
    leaving_tokens: int
    staying: int
    sample_entering: tuple[str, ...]
    sample_leaving: tuple[str, ...]


def _kept(pre: Precomputed, policy: Policy) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(record ids, source names, tokens) of the kept records, in record-id order."""
    kl = keep_list(pre, policy)
    names = np.array(pre.data.sources, dtype=object)
    return pre.data.record_ids[kl.index], names[pre.data.source_codes[kl.index]], pre.data.tokens[kl.index]


def diff_keep_lists(pre_a: Precomputed, a: Policy, pre_b: Precomputed, b: Policy) -> tuple[SourceDiff, ...]:
    """Per source (sorted by name), what changes from A's keep list to B's."""
    ids_a, src_a, tok_a = _kept(pre_a, a)
    ids_b, src_b, tok_b = _kept(pre_b, b)
    leaving = ~np.isin(ids_a, ids_b)
    entering = ~np.isin(ids_b, ids_a)
    out = []
    for source in sorted(set(pre_a.data.sources) | set(pre_b.data.sources)):
        in_a, in_b = src_a == source, src_b == source
        lv, en = in_a & leaving, in_b & entering
        out.append(SourceDiff(
            source=source, entering=int(en.sum()), entering_tokens=int(tok_b[en].sum()), leaving=int(lv.sum()),
            leaving_tokens=int(tok_a[lv].sum()), staying=int((in_a & ~leaving).sum()),
            sample_entering=tuple(r.decode("ascii") for r in ids_b[en][:SAMPLE]),
            sample_leaving=tuple(r.decode("ascii") for r in ids_a[lv][:SAMPLE]),
        ))
    return tuple(out)


def load_precomputed(engine: Engine, policy: Policy, weights: Sequence[float] | None = None) -> Precomputed:
    """Arrays for a policy: its scorer rule's scores, its frozen mask, its criterion (`weights` for `weighted`)."""
    with read_conn(engine) as conn:
        data = load_selection_data(conn, policy.scorer).data
    return precompute(data, policy.mask_array(data.sources), policy.criterion, as_weights(weights))


def diff_policies(engine: Engine, a: str, b: str, weights: Sequence[float] | None = None) -> tuple[SourceDiff, ...]:
    """Load two saved policies by name and diff their keep lists."""
    with read_conn(engine) as conn:
        pa, pb = get_policy(conn, a), get_policy(conn, b)
    pre_a = load_precomputed(engine, pa, weights)
    pre_b = pre_a if (pb.scorer, pb.criterion, pb.masked_cells) == (pa.scorer, pa.criterion, pa.masked_cells) \
        else load_precomputed(engine, pb, weights)
    return diff_keep_lists(pre_a, pa, pre_b, pb)
