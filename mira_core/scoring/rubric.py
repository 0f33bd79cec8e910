"""The anchor rubric (15 slots A1..A15) and the calibration references the system prompt embeds.

Both are JSON Lines files (format in `anchors/README.md`); callers pass the paths from the settings
(`MIRA_ANCHORS_PATH`, `MIRA_CALIBRATION_PATH`) so curators can drop in the MIRA repository's own files;
unknown extra fields are accepted for that reason. Every problem is reported with file:line, all at once.
The anchors themselves are `mira_core.dimensions.Dimension`.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from mira_core.dimensions import Dimension, load_dimensions, slot_problem
from mira_core.jsonl_config import object_lines, raise_all, validate_line


class Rubric(BaseModel):
    """The 15 anchors, ordered A1..A15."""

    anchors: list[Dimension]

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


def load_rubric(path: Path) -> Rubric:
    """The rubric from an anchors JSONL file: exactly 15 unique slots A1..A15 with unique names.

    Raises ConfigError listing every problem (file:line, field, which slot or name repeats and where first).
    """
    return Rubric(anchors=list(load_dimensions(path)))


def load_calibration(path: Path) -> list[CalibrationRef]:
    """The calibration references, in file order (the count comes from the file; it may be empty)."""
    path = Path(path)
    errors: list[str] = []
    refs: list[CalibrationRef] = []
    ids: dict[str, int] = {}
    for no, obj in object_lines(path, errors):
        where = f"{path}:{no}"
        ref = validate_line(CalibrationRef, obj, where, errors, slot_problem)
        if ref is None:
            continue
        if ref.id is not None:
            if ref.id in ids:
                errors.append(f"{where}: id {ref.id!r} duplicated (first at line {ids[ref.id]})")
                continue
            ids[ref.id] = no
        refs.append(ref)
    if errors:
        raise_all(path, "calibration", errors)
    return refs
