"""The anchor rubric (15 slots A1..A15) and the calibration references the system prompt embeds.

Both are JSON Lines files (format in `anchors/README.md`). Paths default to the settings
(`MIRA_ANCHORS_PATH`, `MIRA_CALIBRATION_PATH`) so curators can drop in the MIRA repository's own files;
unknown extra fields are accepted for that reason. Every problem is reported with file:line, all at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from mira_core.errors import ConfigError

SLOT_COUNT = 15
DEFAULT_SLOTS = tuple(f"A{i}" for i in range(1, SLOT_COUNT + 1))
_SLOT = re.compile(r"A([1-9]|1[0-5])", re.ASCII)
_MAX_REPORTED = 20

M = TypeVar("M", bound=BaseModel)


class Anchor(BaseModel):
    """One rubric dimension."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    slot: str = Field(description="`A1`..`A15`; the scorer's output line starts with `[slot]`.")
    name: str = Field(
        min_length=1,
        validation_alias=AliasChoices("name", "dimension", "anchor_name"),
        description="Dimension name exactly as the scorer was trained on it (model card table).",
    )
    cluster_size: int = Field(
        ge=0,
        validation_alias=AliasChoices("cluster_size", "size", "count"),
        description="Records in the dimension's cluster; larger clusters carry more signal.",
    )
    description: str = Field(default="", description="What the dimension judges, for curators.")


class Rubric(BaseModel):
    """The 15 anchors, ordered A1..A15."""

    anchors: list[Anchor]

    def slots(self) -> list[str]:
        """Slot ids in order."""
        return [a.slot for a in self.anchors]

    def name_of(self, slot: str) -> str:
        """The dimension name of a slot; the slot itself when unknown (e.g. a stale calibration file)."""
        for a in self.anchors:
            if a.slot == slot:
                return a.name
        return slot


class CalibrationRef(BaseModel):
    """A canonical example with its anchored score, shown to the scorer so it keeps the teacher's scale."""

    model_config = ConfigDict(extra="allow")

    slot: str = Field(description="Which anchor the example calibrates (`A1`..`A15`).")
    score: float = Field(ge=0, le=10, allow_inf_nan=False, description="The anchored score on the 0-10 scale.")
    excerpt: str = Field(min_length=1, description="The behaviour being scored, short.")
    rationale: str = Field(default="", description="Why that score.")
    id: str | None = Field(default=None, description="Stable id of the reference, for diffs between files.")
    author: str | None = Field(default=None, description="Who wrote it (ours say so: illustrative).")


def _default_paths() -> tuple[Path, Path]:
    from mira_core.settings import load_settings

    s = load_settings()
    return Path(s.anchors_path), Path(s.calibration_path)


def _json_lines(path: Path, errors: list[str]) -> Iterator[tuple[int, dict[str, Any]]]:
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


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _validate(model: type[M], obj: dict[str, Any], where: str, errors: list[str]) -> M | None:
    try:
        item = model.model_validate(obj)
    except ValidationError as exc:
        for e in exc.errors():
            field = ".".join(str(p) for p in e["loc"]) or "(object)"
            errors.append(f"{where}: field {field!r}: {e['msg']}")
        return None
    slot = getattr(item, "slot", "")
    if not _SLOT.fullmatch(slot):
        errors.append(f"{where}: field 'slot': {slot!r} is not one of A1..A15")
        return None
    return item


def _raise(path: Path, what: str, errors: list[str]) -> None:
    shown = errors[:_MAX_REPORTED]
    more = f"\n  ... and {len(errors) - len(shown)} more" if len(errors) > len(shown) else ""
    raise ConfigError(f"{path}: invalid {what} file:\n  " + "\n  ".join(shown) + more)


def load_rubric(path: Path | None = None) -> Rubric:
    """The rubric from an anchors JSONL file: exactly 15 unique slots A1..A15 with unique names.

    Raises ConfigError listing every problem (file:line, field, which slot or name repeats and where first).
    """
    path = Path(path) if path is not None else _default_paths()[0]
    errors: list[str] = []
    by_slot: dict[str, tuple[int, Anchor]] = {}
    by_name: dict[str, int] = {}
    for no, obj in _json_lines(path, errors):
        where = f"{path}:{no}"
        anchor = _validate(Anchor, obj, where, errors)
        if anchor is None:
            continue
        if anchor.slot in by_slot:
            errors.append(f"{where}: slot {anchor.slot} duplicated (first at line {by_slot[anchor.slot][0]})")
            continue
        key = anchor.name.strip().casefold()
        if key in by_name:
            errors.append(f"{where}: name {anchor.name!r} duplicated (first at line {by_name[key]})")
        by_name.setdefault(key, no)
        by_slot[anchor.slot] = (no, anchor)
    missing = [s for s in DEFAULT_SLOTS if s not in by_slot]
    if missing and not errors:
        errors.append(f"{path}: missing slot(s) {', '.join(missing)} (need all of A1..A15)")
    if errors:
        _raise(path, "anchors", errors)
    return Rubric(anchors=[by_slot[s][1] for s in DEFAULT_SLOTS])


def load_calibration(path: Path | None = None) -> list[CalibrationRef]:
    """The calibration references, in file order (the count comes from the file; it may be empty)."""
    path = Path(path) if path is not None else _default_paths()[1]
    errors: list[str] = []
    refs: list[CalibrationRef] = []
    ids: dict[str, int] = {}
    for no, obj in _json_lines(path, errors):
        where = f"{path}:{no}"
        ref = _validate(CalibrationRef, obj, where, errors)
        if ref is None:
            continue
        if ref.id is not None:
            if ref.id in ids:
                errors.append(f"{where}: id {ref.id!r} duplicated (first at line {ids[ref.id]})")
                continue
            ids[ref.id] = no
        refs.append(ref)
    if errors:
        _raise(path, "calibration", errors)
    return refs
