"""Importers for every trajectory layout we read; `LAYOUTS` is the registry, in sniffing order."""

from mira_core.importers.base import ItemContext, Layout
from mira_core.importers.registry import LAYOUTS, layout_by_name

__all__ = ["LAYOUTS", "ItemContext", "Layout", "layout_by_name"]
