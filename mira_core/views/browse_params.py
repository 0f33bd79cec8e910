"""The Browse view (filter, sort, page) as URL query parameters and back, so a view can be shared.

Lists are repeated parameters (`?source=a&source=b`); defaults are left out so URLs stay short. Parsing
is forgiving: a hand-edited URL with a bad value keeps the rest and reports what it ignored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, get_args

from pydantic import BaseModel, ConfigDict, Field

from mira_core.dimensions import SLOTS
from mira_core.query import (
    OverrideFilter,
    Recommendation,
    RecordFilter,
    SortColumn,
    SortKey,
    SpotCheckFilter,
)
from mira_core.records import Outcome

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
SORT_COLUMNS: tuple[str, ...] = get_args(SortColumn)

OVERRIDES: tuple[str, ...] = get_args(OverrideFilter)
SPOT_CHECKS: tuple[str, ...] = get_args(SpotCheckFilter)
RECOMMENDATIONS: tuple[str, ...] = get_args(Recommendation)

LIST_PARAMS = {
    "source": "sources", "outcome": "outcomes", "agent": "agents", "model": "models", "format": "formats", "tag": "tags",
    "rec": "recommendations",
}
"""Query parameter name -> RecordFilter field, for the repeated (list) parameters."""

VIEW_PARAMS = (*LIST_PARAMS, "tmin", "tmax", "q", "override", "spot", "scored", "omin", "omax", "dim",
               "sort", "order", "page", "size", "cols")
"""Every parameter that belongs to the Browse view (the Record page adds `id`)."""


class BrowseView(BaseModel):
    """What Browse shows: a filter, a sort, and which page of which size."""

    model_config = ConfigDict(extra="forbid")

    filter: RecordFilter = Field(default_factory=RecordFilter)
    sort: SortKey = Field(default_factory=SortKey)
    page: int = 1
    """1-based page number."""
    page_size: int = DEFAULT_PAGE_SIZE
    anchors: bool = False
    """Show the A1..A15 columns (`cols=anchors`)."""


class ParsedView(NamedTuple):
    """A view read from a URL, with the parameters that were ignored and why."""

    view: BrowseView
    problems: list[str]


def _values(params: Mapping[str, str | Sequence[str]], key: str) -> list[str]:
    v = params.get(key)
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    return [str(x) for x in v]


def _last(params: Mapping[str, str | Sequence[str]], key: str) -> str | None:
    vals = _values(params, key)
    return vals[-1] if vals else None


def _int(params: Mapping[str, str | Sequence[str]], key: str, problems: list[str], *, low: int = 0) -> int | None:
    raw = _last(params, key)
    if raw is None or raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or int(raw) < low:
        problems.append(f"{key}={raw!r} ignored: expected a whole number ≥ {low}")
        return None
    return int(raw)


def _choice(params: Mapping[str, str | Sequence[str]], key: str, allowed: Sequence[str],
            problems: list[str]) -> Any:
    raw = _last(params, key)
    if raw is None or raw == "":
        return None
    if raw not in allowed:
        problems.append(f"{key}={raw!r} ignored: expected one of {', '.join(allowed)}")
        return None
    return raw


def _overall(params: Mapping[str, str | Sequence[str]], key: str, problems: list[str]) -> int | None:
    value = _int(params, key, problems)
    if value is not None and value > 100:
        problems.append(f"{key}={value} ignored: an overall score is 0-100")
        return None
    return value


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def _dims(params: Mapping[str, str | Sequence[str]], problems: list[str]) -> dict[str, float]:
    """`dim=A3:7` (repeatable): the latest student score's A3 must be at least 7."""
    out: dict[str, float] = {}
    for raw in _values(params, "dim"):
        name, _, num = raw.partition(":")
        try:
            value = float(num)
        except ValueError:
            value = math.nan
        if name not in SLOTS or not math.isfinite(value):
            problems.append(f"dim={raw!r} ignored: expected a dimension and a minimum like A3:7")
            continue
        out[name] = value
    return out


def view_from_params(params: Mapping[str, str | Sequence[str]]) -> ParsedView:
    """Read a BrowseView from query parameters (values as str or list of str); unknown keys are ignored."""
    problems: list[str] = []
    lists: dict[str, Any] = {}  # field name -> list of values (Any: RecordFilter also has non-list fields)
    for key, field in LIST_PARAMS.items():
        vals = list(dict.fromkeys(v for v in _values(params, key) if v != ""))
        if key == "outcome":
            good = [v for v in vals if v in Outcome.__members__]
            problems += [f"outcome={v!r} ignored: expected one of {', '.join(Outcome.__members__)}" for v in vals if v not in good]
            vals = good
        if key == "rec":
            problems += [f"rec={v!r} ignored: expected one of {', '.join(RECOMMENDATIONS)}"
                         for v in vals if v not in RECOMMENDATIONS]
            vals = [v for v in vals if v in RECOMMENDATIONS]
        lists[field] = vals
    f = RecordFilter(
        **lists,
        min_tokens=_int(params, "tmin", problems),
        max_tokens=_int(params, "tmax", problems),
        text=(_last(params, "q") or "").strip(),
        override=_choice(params, "override", OVERRIDES, problems),
        spot_check=_choice(params, "spot", SPOT_CHECKS, problems),
        scored={"yes": True, "no": False, None: None}[_choice(params, "scored", ("yes", "no"), problems)],
        min_overall=_overall(params, "omin", problems),
        max_overall=_overall(params, "omax", problems),
        dim_min=_dims(params, problems),
    )
    sort = SortKey()
    col = _last(params, "sort")
    if col is not None:
        if col in SORT_COLUMNS:
            sort = SortKey.model_validate({"column": col, "descending": sort.descending})
        else:
            problems.append(f"sort={col!r} ignored: expected one of {', '.join(SORT_COLUMNS)}")
    order = _last(params, "order")
    if order in ("asc", "desc"):
        sort = SortKey(column=sort.column, descending=order == "desc")
    elif order is not None:
        problems.append(f"order={order!r} ignored: expected asc or desc")
    size = _int(params, "size", problems, low=1)
    if size is not None and size not in PAGE_SIZES:
        problems.append(f"size={size} ignored: expected one of {', '.join(map(str, PAGE_SIZES))}")
        size = None
    page = _int(params, "page", problems, low=1)
    anchors = _choice(params, "cols", ("anchors",), problems) == "anchors"
    view = BrowseView(filter=f, sort=sort, page=page or 1, page_size=size or DEFAULT_PAGE_SIZE, anchors=anchors)
    return ParsedView(view, problems)


def view_to_params(view: BrowseView) -> dict[str, str | list[str]]:
    """Query parameters for `view`, leaving out defaults; `view_from_params` reads them back equal."""
    out: dict[str, str | list[str]] = {}
    f = view.filter
    for key, field in LIST_PARAMS.items():
        vals = [str(getattr(v, "value", v)) for v in getattr(f, field)]
        if vals:
            out[key] = vals if len(vals) > 1 else vals[0]
    if f.min_tokens is not None:
        out["tmin"] = str(f.min_tokens)
    if f.max_tokens is not None:
        out["tmax"] = str(f.max_tokens)
    if f.text.strip():
        out["q"] = f.text.strip()
    if f.override is not None:
        out["override"] = f.override
    if f.spot_check is not None:
        out["spot"] = f.spot_check
    if f.scored is not None:
        out["scored"] = "yes" if f.scored else "no"
    if f.min_overall is not None:
        out["omin"] = str(f.min_overall)
    if f.max_overall is not None:
        out["omax"] = str(f.max_overall)
    dims = [f"{k}:{_number(v)}" for k, v in f.dim_min.items()]
    if dims:
        out["dim"] = dims if len(dims) > 1 else dims[0]
    default = SortKey()
    if view.sort.column != default.column:
        out["sort"] = view.sort.column
    if view.sort.descending != default.descending:
        out["order"] = "desc" if view.sort.descending else "asc"
    if view.page != 1:
        out["page"] = str(view.page)
    if view.page_size != DEFAULT_PAGE_SIZE:
        out["size"] = str(view.page_size)
    if view.anchors:
        out["cols"] = "anchors"
    return out


def page_of(position: int, page_size: int) -> int:
    """The 1-based Browse page that shows the record at 0-based `position`."""
    return position // page_size + 1


def record_params(view: BrowseView, record_id: str) -> dict[str, str | list[str]]:
    """Query parameters of the Record page for `record_id`, keeping the Browse view for previous/next."""
    return {**view_to_params(view), "id": record_id}
