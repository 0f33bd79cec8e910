"""Small JSON Lines configuration files (anchors, calibration) read with every problem reported at once.

Each bad line becomes one `file:line: reason` entry; `raise_all` turns the list into one `ConfigError`, so
a curator fixing a file sees everything wrong with it in one go.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import NoReturn, TypeVar

from pydantic import BaseModel, ValidationError

from mira_core.errors import ConfigError
from mira_core.jsonstream import JSONObject

MAX_REPORTED = 20
M = TypeVar("M", bound=BaseModel)


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not allowed")


def object_lines(path: Path, errors: list[str]) -> Iterator[tuple[int, JSONObject]]:
    """(line number, object) for every non-blank line; bad lines go to `errors` as `file:line: reason`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found (set MIRA_ANCHORS_PATH / MIRA_CALIBRATION_PATH?)") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    for no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line, parse_constant=_reject_constant)
        except ValueError as exc:
            errors.append(f"{path}:{no}: not valid JSON ({exc})")
            continue
        if not isinstance(obj, dict):
            errors.append(f"{path}:{no}: expected a JSON object, got {type(obj).__name__}")
            continue
        yield no, obj


def validate_line(model: type[M], obj: Mapping[str, object], where: str, errors: list[str],
                  check: Callable[[M], str | None] | None = None) -> M | None:
    """`model` from one line, or None with its problems added to `errors`; `check` may add one more rule."""
    try:
        item = model.model_validate(obj)
    except ValidationError as exc:
        for e in exc.errors():
            field = ".".join(str(p) for p in e["loc"]) or "(object)"
            errors.append(f"{where}: field {field!r}: {e['msg']}")
        return None
    problem = check(item) if check else None
    if problem:
        errors.append(f"{where}: {problem}")
        return None
    return item


def raise_all(path: Path, what: str, errors: list[str]) -> None:
    """One `ConfigError` listing the first `MAX_REPORTED` problems and how many more there are."""
    shown = errors[:MAX_REPORTED]
    more = f"\n  ... and {len(errors) - len(shown)} more" if len(errors) > len(shown) else ""
    raise ConfigError(f"{path}: invalid {what} file:\n  " + "\n  ".join(shown) + more)
