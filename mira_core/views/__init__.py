"""View models for the pages: pure functions that shape stored data for display (no streamlit here).

Pages call these and only render the result, so everything that decides *what* is shown is testable.
"""

from mira_core.views.browse_params import BrowseView, ParsedView, view_from_params, view_to_params
from mira_core.views.diff import DiffFile, DiffSections, split_diff
from mira_core.views.escape import escape_badge_label, escape_markdown, visible_controls
from mira_core.views.record_meta import metadata_rows, report_summary
from mira_core.views.timeline import Folded, StepView, TimelinePage, fold_text, shape_timeline

__all__ = [
    "BrowseView",
    "DiffFile",
    "DiffSections",
    "Folded",
    "ParsedView",
    "StepView",
    "TimelinePage",
    "escape_badge_label",
    "escape_markdown",
    "fold_text",
    "metadata_rows",
    "report_summary",
    "shape_timeline",
    "split_diff",
    "view_from_params",
    "view_to_params",
    "visible_controls",
]
