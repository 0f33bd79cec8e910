"""The registry of layouts, in sniffing order: specific layouts first, the generic `messages` last."""

from __future__ import annotations

from mira_core.errors import MiraError
from mira_core.importers import (
    messages,
    mini_swe_agent,
    nebius,
    openhands,
    reports,
    swe_agent,
    swe_gym,
    swe_smith,
)
from mira_core.importers.base import Layout

LAYOUTS: list[Layout] = [
    openhands.RESOLVER,
    openhands.OUTPUT,
    openhands.FEEDBACK,
    nebius.LAYOUT,
    swe_agent.LAYOUT,
    openhands.EVENTS,
    reports.HARNESS_REPORT,
    reports.MULTI_REPORT,
    reports.RUN_SUMMARY,
    reports.ALL_PREDS,
    reports.PREDS_MAP,
    reports.TASK_INSTANCE,
    swe_gym.LAYOUT,
    swe_smith.LAYOUT,
    mini_swe_agent.LAYOUT,
    messages.LAYOUT,
]


def layout_by_name(name: str) -> Layout:
    """The layout called `name`, for `--format`."""
    for layout in LAYOUTS:
        if layout.name == name:
            return layout
    known = ", ".join(sorted(lay.name for lay in LAYOUTS))
    raise MiraError(f"unknown format {name!r}; known formats: {known}")
