"""Reliability-aware selection: aggregates, the retention preview, the budget solver, policies, exports.

This face holds the types and saves pages use; the Retention screen's loaders are `mira_core.views.retention`.
"""

from mira_core.selection.aggregate import CRITERIA, Criterion
from mira_core.selection.export import FORMATS, ExportFiles, Format
from mira_core.selection.policies import CutSpec, Policy, Recommendation, ScorerRule
from mira_core.selection.preview import CUT_MODES, CutMode, Precomputed, PreviewSettings
from mira_core.selection.solver import BUDGET_RULES, BudgetRule
from mira_core.selection.store import (
    LoadedSelection,
    delete_policy,
    get_policy,
    list_policies,
    policy_revision,
    save_policy,
)

__all__ = [
    "BUDGET_RULES",
    "CRITERIA",
    "CUT_MODES",
    "FORMATS",
    "BudgetRule",
    "Criterion",
    "CutMode",
    "CutSpec",
    "ExportFiles",
    "Format",
    "LoadedSelection",
    "Policy",
    "Precomputed",
    "PreviewSettings",
    "Recommendation",
    "ScorerRule",
    "delete_policy",
    "get_policy",
    "list_policies",
    "policy_revision",
    "save_policy",
]
