"""The Browse view (filter, sort, page) as URL query parameters and back, so a view can be shared.

Lists are repeated parameters (`?source=a&source=b`); defaults are left out so URLs stay short. Parsing
is forgiving: a hand-edited URL with a bad value keeps the rest and reports what it ignored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple, get_args

from pydantic import BaseModel, ConfigDict, Field

from mira_core.query import RecordFilter, SortColumn, SortKey
from mira_core.records import Outcome

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
SORT_COLUMNS: tuple[str, ...] = get_args(SortColumn)

LIST_PARAMS = {"source": "sources", "outcome": "outcomes", "agent": "agents", "model": "models", "format": "formats"}
"""Query parameter name -> RecordFilter field, for the repeated (list) parameters."""

VIEW_PARAMS = (*LIST_PARAMS, "tmin", "tmax", "q", "sort", "order", "page", "size")
"""Every parameter that belongs to the Browse view (the Record page adds `id`)."""


class BrowseView(BaseModel):
    """What Browse shows: a filter, a sort, and which page of which size."""

    model_config = ConfigDict(extra="forbid")

    filter: RecordFilter = Field(default_factory=RecordFilter)
    sort: SortKey = Field(default_factory=SortKey)
    page: int = 1
    """1-based page number."""
    page_size: int = DEFAULT_PAGE_SIZE


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


def view_from_params(params: Mapping[str, str | Sequence[str]]) -> ParsedView:
    """Read a BrowseView from query parameters (values as str or list of str); unknown keys are ignored."""
    problems: list[str] = []
    lists: dict[str, list] = {}
    for key, field in LIST_PARAMS.items():
        vals = list(dict.fromkeys(v for v in _values(params, key) if v != ""))
        if key == "outcome":
            good = [v for v in vals if v in Outcome.__members__]
            problems += [f"outcome={v!r} ignored: expected one of {', '.join(Outcome.__members__)}" for v in vals if v not in good]
            vals = good
        lists[field] = vals
    f = RecordFilter(
        **lists,
        min_tokens=_int(params, "tmin", problems),
        max_tokens=_int(params, "tmax", problems),
        text=(_last(params, "q") or "").strip(),
    )
    sort = SortKey()
    col = _last(params, "sort")
    if col is not None:
        if col in SORT_COLUMNS:
            sort = SortKey(column=col, descending=sort.descending)  # type: ignore[arg-type]
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
    view = BrowseView(filter=f, sort=sort, page=page or 1, page_size=size or DEFAULT_PAGE_SIZE)
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
    default = SortKey()
    if view.sort.column != default.column:
        out["sort"] = view.sort.column
    if view.sort.descending != default.descending:
        out["order"] = "desc" if view.sort.descending else "asc"
    if view.page != 1:
        out["page"] = str(view.page)
    if view.page_size != DEFAULT_PAGE_SIZE:
        out["size"] = str(view.page_size)
    return out


def page_of(position: int, page_size: int) -> int:
    """The 1-based Browse page that shows the record at 0-based `position`."""
    return position // page_size + 1


def record_params(view: BrowseView, record_id: str) -> dict[str, str | list[str]]:
    """Query parameters of the Record page for `record_id`, keeping the Browse view for previous/next."""
    return {**view_to_params(view), "id": record_id}
