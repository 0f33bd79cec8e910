"""Student-versus-teacher reliability: agreement metrics, dimension masks, spot-checks, demo teacher labels.

This face is what pages and other packages use: the metrics, the mask model with its rules and JSON form,
saving and activating mask versions, and creating and answering spot-checks.
"""

from mira_core.reliability.mask_store import activate_mask_version, active_mask, load_mask, save_mask_version
from mira_core.reliability.masks import (
    WILDCARD,
    Cell,
    CellDecision,
    Mask,
    MaskFormatError,
    MaskRules,
    Override,
    build_mask,
    curator_overrides,
    mask_from_json,
    mask_to_json,
)
from mira_core.reliability.metrics import ALL_SOURCES, bootstrap, mae, reliability_matrix, spearman
from mira_core.reliability.spot_check_store import (
    CellSpotChecks,
    create_spot_check,
    record_review,
    spot_check_cells,
)

__all__ = [
    "ALL_SOURCES",
    "WILDCARD",
    "Cell",
    "CellDecision",
    "CellSpotChecks",
    "Mask",
    "MaskFormatError",
    "MaskRules",
    "Override",
    "activate_mask_version",
    "active_mask",
    "bootstrap",
    "build_mask",
    "create_spot_check",
    "curator_overrides",
    "load_mask",
    "mae",
    "mask_from_json",
    "mask_to_json",
    "record_review",
    "reliability_matrix",
    "save_mask_version",
    "spearman",
    "spot_check_cells",
]
