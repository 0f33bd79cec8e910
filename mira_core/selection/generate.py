"""Generated selection arrays (no database) for benchmarks and property tests: seeded, shaped like the corpus."""

from __future__ import annotations

import numpy as np

from mira_core.dimensions import N_SLOTS
from mira_core.selection.aggregate import OVERRIDE_DROP, OVERRIDE_KEEP
from mira_core.selection.data import SelectionData, make_data

SOURCES = ("agent_openhands", "davinc_dev", "swe_qa")


def generate_data(n: int, *, seed: int = 0, sources: tuple[str, ...] = SOURCES) -> SelectionData:
    """`n` records: integer 0-10 scores around a per-record quality, ~3% incomplete, 0.2% overrides."""
    rng = np.random.default_rng(seed)
    codes = rng.choice(len(sources), size=n, p=np.linspace(1.5, 0.5, len(sources)) / np.linspace(1.5, 0.5, len(sources)).sum())
    quality = rng.normal(5.5, 1.6, size=n) + codes * 0.3
    scores = np.clip(np.rint(quality[:, None] + rng.normal(0, 1.5, size=(n, N_SLOTS))), 0, 10).astype(np.float32)
    complete = rng.random(n) > 0.03
    scores[~complete, rng.integers(0, N_SLOTS)] = np.nan
    overall = np.clip(np.rint(quality * 10 + rng.normal(0, 8, size=n)), 0, 100).astype(np.float32)
    rec = np.where(overall >= 60, 0, np.where(overall >= 40, 1, 2)).astype(np.int8)
    tokens = np.clip(rng.lognormal(9.5, 0.9, size=n), 300, 60000).astype(np.int64)
    outcome = np.where(rng.random(n) < 0.1, -1, (rng.random(n) < 0.3 + 0.05 * (quality - 5)).astype(np.int8))
    override = np.zeros(n, dtype=np.int8)
    pick = rng.random(n)
    override[pick < 0.001] = OVERRIDE_KEEP
    override[(pick >= 0.001) & (pick < 0.002)] = OVERRIDE_DROP
    ids = np.char.encode(np.char.mod("%024x", np.arange(n, dtype=np.int64) * 2654435761 % (1 << 60)), "ascii")
    return make_data(ids, sources, codes, tokens, scores, complete, overall=overall, recommendation=rec,
                     outcome=outcome.astype(np.int8), override=override)
