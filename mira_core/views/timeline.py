"""Shape a trajectory's steps for the Record page timeline: paging, kind filters and folding.

A 60K-token trajectory can have thousands of steps and observations of thousands of lines; the page
renders one page of steps, and each long text as a short head plus a collapsed rest.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict

from mira_core.records import Step, StepKind
from mira_core.views.escape import visible_controls

FOLD_LINES = 12
FOLD_CHARS = 2500
STEPS_PER_PAGE = 50


class Folded(NamedTuple):
    """A text cut into what is shown at once (`head`) and what sits behind an expander (`rest`)."""

    head: str
    rest: str
    hidden_lines: int


def fold_text(text: str, *, max_lines: int = FOLD_LINES, max_chars: int = FOLD_CHARS) -> Folded:
    """Split `text` after `max_lines` lines or `max_chars` characters, whichever comes first.

    `head + rest == text` always, so nothing is lost; `hidden_lines` counts lines that start in `rest`.
    """
    cut = len(text)
    pos = 0
    for _ in range(max_lines):
        nl = text.find("\n", pos)
        if nl < 0:
            pos = len(text)
            break
        pos = nl + 1
    else:
        cut = pos
    cut = min(cut, max_chars, len(text))
    if cut >= len(text):
        return Folded(text, "", 0)
    rest = text[cut:]
    hidden = rest.count("\n") + (0 if rest.endswith("\n") else 1)
    return Folded(text[:cut], rest, hidden)


def args_preview(tool_args: dict[str, Any] | None, limit: int = 90) -> str:
    """One line that says what a tool call does.

    Its `command` (plus `path` for editor tools such as `str_replace_editor view /x.py`) if it has one, else
    compact JSON.
    """
    if not tool_args:
        return ""
    cmd = tool_args.get("command") if isinstance(tool_args.get("command"), str) else None
    path = tool_args.get("path") if isinstance(tool_args.get("path"), str) else None
    if cmd is not None and path is not None:
        text = f"{cmd} {path}"
    else:
        text = cmd if cmd is not None else json.dumps(tool_args, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class StepView(BaseModel):
    """One step ready to render.

    Text fields have control characters made visible; they are still untrusted and must be rendered as text
    (or escaped before they go into a label).
    """

    model_config = ConfigDict(extra="forbid")

    index: int
    """1-based position in the whole trajectory (not in the page)."""
    kind: StepKind
    role: str
    tool_name: str | None
    command: str | None
    """`tool_args["command"]` when it is a string (shown as a shell block)."""
    tool_args: dict[str, Any] | None
    args_preview: str
    head: str
    rest: str
    hidden_lines: int
    exit_code: int | None
    error: bool


class TimelinePage(NamedTuple):
    """One page of the (filtered) timeline."""

    items: list[StepView]
    page: int
    """1-based, clamped into [1, n_pages]."""
    n_pages: int
    total: int
    """Steps left after the kind / error filters."""
    first: int
    """1-based position of the first item within the filtered steps (0 when empty)."""


def split_args(args: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, str]]:
    """(short arguments for a JSON view, long or multi-line text arguments shown as text blocks).

    Editor tools pass whole files or code snippets (`file_text`, `old_str`, `new_str`); inside JSON they
    would be one unreadable escaped line.
    """
    short: dict[str, Any] = {}
    long: dict[str, str] = {}
    for k, v in (args or {}).items():
        if isinstance(v, str) and ("\n" in v or len(v) > 100):
            long[k] = v
        else:
            short[k] = v
    return short, long


def _clean_args(value: Any) -> Any:
    if isinstance(value, str):
        return visible_controls(value)
    if isinstance(value, dict):
        return {visible_controls(str(k)): _clean_args(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_args(v) for v in value]
    return value


def step_view(index: int, step: Step, *, max_lines: int = FOLD_LINES, max_chars: int = FOLD_CHARS) -> StepView:
    """The display form of one step (folded content, visible control characters)."""
    folded = fold_text(visible_controls(step.content), max_lines=max_lines, max_chars=max_chars)
    args = _clean_args(step.tool_args) if step.tool_args else None
    cmd = args.get("command") if args and isinstance(args.get("command"), str) else None
    return StepView(
        index=index,
        kind=step.kind,
        role=visible_controls(step.role, keep_newlines=False),
        tool_name=visible_controls(step.tool_name, keep_newlines=False) if step.tool_name else None,
        command=cmd,
        tool_args=args,
        args_preview=args_preview(args),
        head=folded.head,
        rest=folded.rest,
        hidden_lines=folded.hidden_lines,
        exit_code=step.exit_code,
        error=step.error,
    )


def shape_timeline(
    steps: Sequence[Step],
    *,
    page: int = 1,
    per_page: int = STEPS_PER_PAGE,
    kinds: Iterable[StepKind] | None = None,
    errors_only: bool = False,
) -> TimelinePage:
    """Filter steps by kind / error flag, then return page `page` of `per_page` as StepViews.

    Only the steps of the page are turned into views, so a huge trajectory costs one page of work.
    """
    wanted = set(kinds) if kinds else None
    keep = [
        i
        for i, s in enumerate(steps)
        if (wanted is None or s.kind in wanted) and (not errors_only or s.error)
    ]
    total = len(keep)
    n_pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), n_pages)
    start = (page - 1) * per_page
    chosen = keep[start : start + per_page]
    items = [step_view(i + 1, steps[i]) for i in chosen]
    return TimelinePage(items, page, n_pages, total, start + 1 if chosen else 0)
