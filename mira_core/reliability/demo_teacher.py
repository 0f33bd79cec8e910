"""SIMULATED teacher labels for the demo corpus, so the reliability page has something honest to show.

The real teacher (Kimi-K2.6) agrees with the student closely on most dimensions and poorly on a few,
and which ones differs by source. The simulation mirrors that: for each (source, slot) cell a
deterministic draw decides how much of the student's score the teacher shares (weight w) and how noisy
it is; about one cell in five is "hard" (w ~ 0.2, large noise), so rules mask some cells and not
others. Only a held-out share of records (`coverage`) gets a teacher label, like a validation split.
Every label says SIMULATED in its teacher name and rationale.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from mira_core.dimensions import SLOTS
from mira_core.identity import Actor, Role, require
from mira_core.reliability.teacher import IMPORTING, TeacherImportSummary, import_teacher_lines
from mira_core.storage import Engine, read_conn
from mira_core.storage import reliability_repo as repo

DEMO_TEACHER = "kimi-k2.6-SIMULATED"
HARDER_SLOTS = (SLOTS[1], SLOTS[10], SLOTS[14])  # A2, A11, A15
"""Slots harder to distil everywhere (style and safety judgments), a bit more often unreliable."""


def _unit(*parts: object) -> float:
    h = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8)
    return int.from_bytes(h.digest(), "big") / 2**64


def cell_difficulty(source: str, slot: str, seed: int) -> tuple[float, float, float]:
    """(weight on the student's score, noise sd, bias) of the simulated teacher for one cell."""
    hard_p = 0.35 if slot in HARDER_SLOTS else 0.15
    if _unit(seed, "hard", source, slot) < hard_p:
        return 0.15 + 0.15 * _unit(seed, "w", source, slot), 2.0 + 1.2 * _unit(seed, "sd", source, slot), \
            1.5 * (_unit(seed, "bias", source, slot) - 0.5)
    return 0.8 + 0.15 * _unit(seed, "w", source, slot), 0.5 + 0.8 * _unit(seed, "sd", source, slot), \
        0.6 * (_unit(seed, "bias", source, slot) - 0.5)


def make_demo_teacher_labels(rows: Iterable[tuple[str, str, Sequence[float | None]]], *, seed: int = 7,
                             coverage: float = 0.5) -> Iterator[str]:
    """Teacher-label JSONL lines for `(record_id, source, student scores A1..A15)` rows (deterministic).

    A record is labelled when a hash of its id falls under `coverage`; a slot the student did not score
    gets a label around the middle of the scale.
    """
    for record_id, source, student in rows:
        if _unit(seed, "cover", record_id) >= coverage:
            continue
        rng = np.random.default_rng([seed, int(_unit(seed, record_id) * 2**32)])
        scores = {}
        for k, slot in enumerate(SLOTS):
            value = student[k] if k < len(student) else None
            s = 5.0 if value is None or not np.isfinite(value) else float(value)
            w, sd, bias = cell_difficulty(source, slot, seed)
            t = w * s + (1 - w) * rng.uniform(2, 9) + bias + rng.normal(0, sd)
            score = int(np.clip(np.rint(t), 0, 10))
            scores[slot] = {"score": score, "rationale": f"SIMULATED teacher label for the demo ({slot})."}
        yield json.dumps({"record_id": record_id, "scores": scores})


def label_demo_corpus(engine: Engine, *, actor: Actor, seed: int = 7, coverage: float = 0.5,
                      teacher: str = DEMO_TEACHER) -> TeacherImportSummary:
    """Give the stored student-scored records SIMULATED teacher labels (idempotent: same labels again).

    An import of teacher labels like any other: the curator role, and `teacher.import` in the activity log.
    """
    require(actor, Role.curator, IMPORTING)
    with read_conn(engine) as conn:
        pairs = repo.load_score_pairs(conn)
    rows = ((str(r), str(s), list(v)) for r, s, v in zip(pairs.record_ids, pairs.sources, pairs.student, strict=True))
    return import_teacher_lines(engine, make_demo_teacher_labels(rows, seed=seed, coverage=coverage), teacher=teacher,
                                actor=actor)
