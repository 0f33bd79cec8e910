"""Importers for every trajectory layout we read; `LAYOUTS` is the registry, in sniffing order.

One module per family: `openhands` (+ `openhands_events` for the three event dialects), `swe_agent`,
`nebius`, `swe_gym`, `swe_smith`, `mini_swe_agent`, `messages` (the generic fallback) and `reports`
(outcome files joined to trajectories by instance id). FORMATS.md in the shared real-data folder describes
the layouts.
"""

from mira_core.importers.base import ItemContext, ItemSkipped, Layout
from mira_core.importers.registry import LAYOUTS, layout_by_name

__all__ = ["LAYOUTS", "ItemContext", "ItemSkipped", "Layout", "layout_by_name"]
