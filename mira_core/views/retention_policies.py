"""The Retention screen's saved policies: one loaded back into the widgets, two diffed, one downloaded.

Preparing a download is the one write here: it needs the curator role and is logged as `export.download`
(the bytes go to the browser, so who took which list is known only from the log).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields

import pandas as pd

from mira_core.identity import Actor, Role, require
from mira_core.selection.diff import SourceDiff, diff_keep_lists, load_precomputed
from mira_core.selection.diff_records import param_changes, record_changes
from mira_core.selection.export import ExportFiles, Format, export_files, record_export
from mira_core.selection.keep import keep_list
from mira_core.selection.policies import Policy, ScorerRule
from mira_core.selection.preview import CutMode, Precomputed
from mira_core.selection.store import LoadedSelection, get_policy, list_policies
from mira_core.storage import Connection, Engine, read_conn, selection_repo, write_tx
from mira_core.views.retention import GLOBAL_SLIDER, MODE_LABELS, slider_range


@dataclass(frozen=True)
class PolicySliders:
    """A saved policy as values for the Retention widgets."""

    policy: Policy
    """The saved policy (criterion, scorer, budget, weights and name go to their widgets as they are)."""
    mode: str | None
    """The mode radio's value: "global" or the per-source cuts' mode; None when the policy has no cut."""
    cut_mode: CutMode
    """The mode of the sliders in `values`."""
    values: dict[str, float]
    """Slider (source name, or GLOBAL_SLIDER) -> value clipped to the slider's bounds."""
    note: str | None
    """Why the sliders differ from the policy (its per-source cuts mix modes); None when they match."""


def policy_sliders(policy: Policy) -> PolicySliders:
    """Slider values reproducing `policy`; mixed per-source modes are all shown in the first mode by name."""
    if policy.global_cut:
        g = policy.global_cut
        value = slider_range(g.mode, policy.criterion).clip(g.value)
        return PolicySliders(policy, "global", g.mode, {GLOBAL_SLIDER: value}, None)
    if not policy.cuts:
        return PolicySliders(policy, None, "threshold", {}, None)
    modes = {c.mode for c in policy.cuts.values()}
    mode = sorted(modes)[0]
    bounds = slider_range(mode, policy.criterion)
    note = (f"Policy {policy.name} mixes cut modes; the sliders show every cut as {MODE_LABELS[mode]}."
            if len(modes) > 1 else None)
    return PolicySliders(policy, mode, mode, {s: bounds.clip(c.value) for s, c in policy.cuts.items()}, note)


def load_policy_sliders(conn: Connection, name: str) -> PolicySliders:
    """A saved policy's slider values (NotFoundError when there is no policy of that name)."""
    return policy_sliders(get_policy(conn, name))


def policy_names(conn: Connection) -> list[str]:
    """Every saved policy's name, sorted."""
    return [p.name for p in list_policies(conn)]


DIFF_COLUMNS = [f.name for f in fields(SourceDiff) if not f.name.startswith("sample")]
"""The diff table's columns: counts and tokens per source (the sample record ids are left out)."""


def prepare_download(engine: Engine, *, name: str, fmt: Format, actor: Actor, weights: Sequence[float],
                     cached: Callable[[str, ScorerRule], LoadedSelection] | None = None) -> ExportFiles:
    """A saved policy's keep list and manifest in memory for the browser, logged as `export.download`.

    Nothing is written to disk; the log entry names the policy, its revision, the format, rows and sha256.
    `cached(version, scorer)` gives the page's selection arrays for the store's data version read here (it
    loads them when the page has none for that version): the 2.3M-record load is not repeated per export,
    and the list is the one a fresh load of that version gives.
    """
    require(actor, Role.curator, "downloading exports")
    with read_conn(engine) as conn:
        policy = get_policy(conn, name)
        version = selection_repo.selection_version(conn) if cached is not None else ""
    loaded = cached(version, policy.scorer) if cached is not None else None
    files = export_files(engine, policy, fmt, weights=weights, loaded=loaded)
    with write_tx(engine) as conn:
        record_export(conn, actor, "export.download", policy, fmt, files, file=files.list_name)
    return files


@dataclass(frozen=True, eq=False)
class PolicyDiffView:
    """Going from policy A to policy B: per source, record by record, and setting by setting."""

    sources: pd.DataFrame
    """DIFF_COLUMNS: records and tokens entering and leaving per source."""
    records: pd.DataFrame
    """`diff_records.RECORD_COLUMNS`: each record that enters or leaves, aggregates under A and B, the reason."""
    params: pd.DataFrame
    """`diff_records.PARAM_COLUMNS`: every setting of either policy, changed ones first."""


def load_policy_diff(engine: Engine, a: str, b: str, *, weights: Sequence[float]) -> PolicyDiffView:
    """Both policies' keep lists compared (their arrays are loaded once when scorer, criterion and mask agree)."""
    with read_conn(engine) as conn:
        pa, pb = get_policy(conn, a), get_policy(conn, b)
    pre_a = load_precomputed(engine, pa, weights)
    same = (pb.scorer, pb.criterion, pb.masked_cells) == (pa.scorer, pa.criterion, pa.masked_cells)
    pre_b = pre_a if same else load_precomputed(engine, pb, weights)
    per_source = [{c: getattr(d, c) for c in DIFF_COLUMNS} for d in diff_keep_lists(pre_a, pa, pre_b, pb)]
    return PolicyDiffView(pd.DataFrame(per_source, columns=DIFF_COLUMNS), record_changes(pre_a, pa, pre_b, pb),
                          param_changes(pa, pb))


POLICY_COLUMNS = ("name", "created by", "last saved", "note", "mask version", "criterion", "kept", "kept tokens",
                  "budget rule")


def load_policy_table(engine: Engine, *, weights: Sequence[float]) -> pd.DataFrame:
    """Saved policies with who saved them, when, their note and mask, and what each keeps on today's data.

    Policies sharing a scorer, criterion and mask share one set of arrays.
    """
    with read_conn(engine) as conn:
        policies = list_policies(conn)
    arrays: dict[str, Precomputed] = {}
    rows = []
    for p in policies:
        key = repr((p.scorer, p.criterion, p.masked_cells))
        pre = arrays.get(key) or arrays.setdefault(key, load_precomputed(engine, p, weights))
        kept = keep_list(pre, p)
        rows.append((p.name, p.created_by, p.updated_at, p.note, p.mask_version if p.mask_version else "none",
                     p.criterion, len(kept), int(pre.data.tokens[kept.index].sum()), p.budget_rule or "–"))
    return pd.DataFrame(rows, columns=list(POLICY_COLUMNS))


def policy_stamps(conn: Connection) -> tuple[str, ...]:
    """'name@last save' of every policy: changes whenever one is saved, replaced or deleted (a cache key)."""
    return tuple(f"{p.name}@{p.updated_at.isoformat() if p.updated_at else ''}" for p in list_policies(conn))
