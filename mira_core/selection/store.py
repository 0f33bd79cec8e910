"""Selection's data in the database: the arrays of `SelectionData`, saved policies, the active mask frozen.

Storage (`storage.selection_repo`) returns plain columns and rows with codes as stored text; this module maps
them to selection's types: outcome, recommendation and override codes, `Policy` from its JSON fields.
Saving and deleting a policy check the acting person's role and append to the activity log in the same
transaction; storage itself stays role-free.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from mira_core.errors import ConflictError, NotFoundError
from mira_core.identity import Actor, Role, require
from mira_core.reliability.mask_store import load_mask
from mira_core.selection.aggregate import (
    OVERRIDE_DROP,
    OVERRIDE_KEEP,
    OVERRIDE_NONE,
    REC_NONE,
    RECOMMENDATIONS,
)
from mira_core.selection.data import (
    OUTCOME_NOT_RESOLVED,
    OUTCOME_RESOLVED,
    OUTCOME_UNKNOWN,
    SelectionData,
)
from mira_core.selection.policies import WILDCARD, CutSpec, Policy, ScorerRule, freeze_cells
from mira_core.storage import Connection, records_repo
from mira_core.storage import selection_repo as repo
from mira_core.storage.columnar import Coded
from mira_core.storage.reliability_repo import active_mask_version
from mira_core.storage.selection_repo import PolicyRow, ScorerRun
from mira_core.team import record_change

# Stored text -> code; None (no outcome, recommendation or override stored) takes the default code.
_OUTCOMES: dict[str | None, int] = {"resolved": OUTCOME_RESOLVED, "not_resolved": OUTCOME_NOT_RESOLVED}
_OUTCOME_NAMES = {OUTCOME_RESOLVED: "resolved", OUTCOME_NOT_RESOLVED: "not_resolved"}
_OVERRIDES: dict[str | None, int] = {"force_keep": OVERRIDE_KEEP, "force_drop": OVERRIDE_DROP}
_REC_CODES: dict[str | None, int] = {r: i for i, r in enumerate(RECOMMENDATIONS)}


@dataclass(frozen=True)
class LoadedSelection:
    """The arrays for selection plus which scorer runs they came from."""

    data: SelectionData
    runs: tuple[ScorerRun, ...]
    instance_ids: Coded | None = None
    """Each record's instance id (None where none), aligned with `data`, when the load was asked for them."""


# ----------------------------------------------------------------------------- arrays


def load_selection_data(conn: Connection, rule: ScorerRule | None = None, *,
                        instance_ids: bool = False) -> LoadedSelection:
    """Every record with its chosen score (NaN + incomplete when none) and override, in record-id order.

    `instance_ids`: also each record's instance id, read in the same pass over records (an export's load).
    """
    rule = rule or ScorerRule()
    cols = repo.load_selection_columns(conn, judge=rule.judge, prompt_version=rule.prompt_version,
                                       instance_ids=instance_ids)
    names = tuple(sorted(str(v) for v in cols.sources.values))
    data = SelectionData(
        record_ids=cols.record_ids, sources=names,
        source_codes=cols.sources.mapped({s: names.index(s) for s in names}, 0, np.int16),
        tokens=cols.tokens, outcome=cols.outcomes.mapped(_OUTCOMES, OUTCOME_UNKNOWN), scores=cols.scores,
        complete=cols.complete, overall=cols.overall,
        recommendation=cols.recommendations.mapped(_REC_CODES, REC_NONE),
        override=cols.overrides.mapped(_OVERRIDES, OVERRIDE_NONE), tokens_measured=cols.tokens_measured,
    )
    return LoadedSelection(data, cols.runs, cols.instance_ids)


def insert_generated(conn: Connection, data: SelectionData, *, judge: str = "bench-student",
                     prompt_version: str = "bench", batch: int = 20000) -> None:
    """Store generated arrays as synthetic records with one student score each (benchmarks only, never real data).

    Overrides are not stored: generated records carry no annotations.
    """
    rec = data.recommendation
    cols = repo.SelectionColumns(
        record_ids=[data.record_id(i) for i in range(data.n)],
        sources=[data.sources[int(c)] for c in data.source_codes],
        tokens=data.tokens,
        outcomes=[_OUTCOME_NAMES.get(int(o), "unknown") for o in data.outcome],
        complete=data.complete,
        overall=data.overall,
        recommendations=[RECOMMENDATIONS[int(r)] if r >= 0 else None for r in rec],
        overrides=[None] * data.n,
        scores=data.scores,
    )
    repo.insert_generated(conn, cols, judge=judge, prompt_version=prompt_version, batch=batch)


def active_mask_cells(conn: Connection, sources: tuple[str, ...]) -> tuple[int | None, dict[str, list[str]]]:
    """(active mask version id, its masked cells frozen per source plus '*'); no mask saved -> (None, {})."""
    return mask_cells(conn, active_mask_version(conn), sources)


def mask_cells(conn: Connection, version: int | None, sources: tuple[str, ...]) -> tuple[int | None, dict[str, list[str]]]:
    """(version, its masked cells frozen per source plus '*'); None -> (None, {}); NotFoundError for no such version."""
    if version is None:
        return None, {}
    mask = load_mask(conn, version)
    wildcard = [c.slot for c in mask.masked_cells() if c.source == WILDCARD]
    return version, freeze_cells(mask.is_masked, sources, wildcard)


# ----------------------------------------------------------------------------- policies


@dataclass(frozen=True)
class MaskFill:
    """A policy with its mask filled in, and what was done (for the operator to read)."""

    policy: Policy
    message: str | None
    """None when the policy already named its masked cells."""


def fill_mask(conn: Connection, policy: Policy) -> MaskFill:
    """A policy without masked cells gets those of its `mask_version`, else of the active mask.

    A policy file written by hand (or by an older version) may name no cells; exporting it with no mask at all
    would silently keep scores the reliability step rejected. With no mask saved, the policy keeps none and
    the message says so.
    """
    if policy.masked_cells:
        return MaskFill(policy, None)
    sources = tuple(records_repo.distinct_values(conn, "source"))
    asked = policy.mask_version
    version, cells = mask_cells(conn, asked if asked is not None else active_mask_version(conn), sources)
    if version is None:
        return MaskFill(policy, f"policy {policy.name} names no masked cells and no mask version is saved: "
                                "no dimension is masked")
    n = sum(len(v) for k, v in cells.items() if k != WILDCARD)
    which = f"mask version {version}" if asked is not None else f"the active mask (version {version})"
    return MaskFill(policy.model_copy(update={"mask_version": version, "masked_cells": cells}),
                    f"policy {policy.name} names no masked cells: using {which}, {n} source x dimension cells")


def _policy_row(p: Policy) -> PolicyRow:
    return PolicyRow(
        name=p.name, mode="global" if p.global_cut else "per_source", criterion=p.criterion,
        thresholds=json.dumps({"cuts": {s: c.model_dump() for s, c in sorted(p.cuts.items())},
                               "global_cut": p.global_cut.model_dump() if p.global_cut else None}, sort_keys=True),
        mask_version=p.mask_version, mask_cells=json.dumps(p.masked_cells, sort_keys=True),
        scorer_rule=p.scorer.model_dump_json(), budget_tokens=p.budget_tokens, budget_rule=p.budget_rule,
        # The weights column holds the settings beyond the cuts: downsampling, and the solver's request.
        weights=json.dumps({"downsample_weight": p.downsample_weight,
                            "downsample_recommendations": p.downsample_recommendations,
                            **({"budget_request": p.budget_request} if p.budget_request else {})}, sort_keys=True),
        note=p.note, created_by=p.created_by,
    )


def _policy_from_row(row: PolicyRow) -> Policy:
    th = json.loads(row.thresholds)
    weights = json.loads(row.weights)
    return Policy.model_validate({
        "name": row.name, "criterion": row.criterion,
        "cuts": {s: CutSpec.model_validate(c) for s, c in th["cuts"].items()},
        "global_cut": CutSpec.model_validate(th["global_cut"]) if th.get("global_cut") else None,
        "mask_version": row.mask_version, "masked_cells": json.loads(row.mask_cells),
        "scorer": ScorerRule.model_validate_json(row.scorer_rule), "budget_tokens": row.budget_tokens,
        "budget_rule": row.budget_rule, "budget_request": weights.get("budget_request"),
        "downsample_weight": weights["downsample_weight"],
        "downsample_recommendations": weights["downsample_recommendations"], "note": row.note,
        "created_by": row.created_by, "created_at": row.created_at, "updated_at": row.updated_at,
    })


def policy_revision(policy: Policy) -> str:
    """A short digest of what a policy says (everything but who saved it and when).

    The activity log names a policy's revision on every save, replacement, deletion and export, so a
    keep list can be traced to the exact policy that made it; equal policies have equal revisions.
    """
    content = policy.model_dump(mode="json", exclude={"created_by", "created_at", "updated_at"})
    if content.get("budget_request") is None:  # added later: policies without it keep their earlier revision
        content.pop("budget_request", None)
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode("utf-8")).hexdigest()[:12]


def _find_policy_row(conn: Connection, name: str) -> PolicyRow | None:
    try:
        return repo.get_policy_row(conn, name)
    except NotFoundError:
        return None


def save_policy(conn: Connection, policy: Policy, *, actor: Actor, replace: bool = False) -> Policy:
    """Store a policy under its name; an existing name needs `replace=True`.

    A new policy is stored as created by `actor`; a replaced one keeps its creator and creation time (who
    replaced it, and the old and new revision, are in the activity log as `policy.save`).
    """
    require(actor, Role.curator, "saving policies")
    old = _find_policy_row(conn, policy.name)
    if old is not None and not replace:
        saved_at = f" on {old.updated_at:%Y-%m-%d %H:%M} UTC" if old.updated_at else ""
        raise ConflictError(f"policy {policy.name!r} already exists (created by {old.created_by or 'unknown'}, "
                            f"last saved{saved_at}): choose another name or overwrite it")
    row = _policy_row(policy.model_copy(update={"created_by": old.created_by if old else actor.user_id}))
    saved = _policy_from_row(repo.save_policy_row(conn, row, replace=replace))
    record_change(conn, actor, "policy.save", target_kind="policy", target_id=saved.name,
                  old_revision=policy_revision(_policy_from_row(old)) if old else None,
                  new_revision=policy_revision(saved))
    return saved


def delete_policy(conn: Connection, name: str, *, actor: Actor) -> bool:
    """Remove a saved policy (logged as `policy.delete` with its last revision); False when there is none."""
    require(actor, Role.curator, "deleting policies")
    old = _find_policy_row(conn, name)
    if old is None or not repo.delete_policy(conn, name):
        return False
    record_change(conn, actor, "policy.delete", target_kind="policy", target_id=name,
                  old_revision=policy_revision(_policy_from_row(old)))
    return True


def get_policy(conn: Connection, name: str) -> Policy:
    """One saved policy by name (NotFoundError when there is none)."""
    return _policy_from_row(repo.get_policy_row(conn, name))


def list_policies(conn: Connection) -> list[Policy]:
    """All saved policies, by name."""
    return [_policy_from_row(r) for r in repo.list_policy_rows(conn)]
