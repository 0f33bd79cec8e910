"""Generate the synthetic demo corpus: one JSONL file per source, streamed row by row.

Record `i` of seed `s` depends only on (s, i) and the pools of `s`, so the same seed always writes the same
bytes and memory stays bounded whatever the record count. Sources: `agent_openhands` (OpenHands
output.jsonl), `davinc_dev` (Nebius rows), `swe_qa` (SWE-Gym rows). Lengths are long-tailed: most runs a
few thousand tokens, a few percent near the 60K-token ceiling.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mira_core.demo import layout_nebius, layout_openhands, layout_swe_gym
from mira_core.demo.episode import build_episode, shorten
from mira_core.demo.pools import Pools
from mira_core.jsonstream import JSONObject

MAX_TOKENS = 60_000
MEDIAN_TOKENS = 3000  # of `token_budget`'s lognormal
SHORT_TURN_CHARS = 12  # characters kept per text field, per KiB of `body_kb`
FILE_NAMES = {
    layout_openhands.SOURCE: "output.jsonl",
    layout_nebius.SOURCE: "nebius_trajectories.jsonl",
    layout_swe_gym.SOURCE: "swe_gym_trajectories.jsonl",
}
SOURCES = tuple(FILE_NAMES)
SOURCE_WEIGHTS = (0.4, 0.3, 0.3)
EPOCH = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)

GenerateProgress = Callable[[int, int], None]


@dataclass
class DemoCorpus:
    """Where the generated files are and what they hold."""

    root: Path
    files: dict[str, Path]
    records: int = 0
    bytes: int = 0
    per_source: dict[str, int] = field(default_factory=dict)


def token_budget(rng: random.Random) -> int:
    """A long-tailed target length: lognormal around 3K tokens, plus ~1.5% planted near 60K.

    Budgets stop at 56K because a run ends on a whole turn, which can overshoot its budget by a few percent.
    """
    if rng.random() < 0.015:
        return rng.randint(52_000, 56_000)
    return int(min(56_000, max(900, rng.lognormvariate(math.log(MEDIAN_TOKENS), 0.85))))


def record_row(seed: int, index: int, pools: Pools, body_kb: float | None = None) -> tuple[str, JSONObject]:
    """(source, row) of record `index` of the corpus of `seed`; `body_kb` makes its body short (`short_chars`).

    The source, repository and outcome draws do not depend on `body_kb`, only the length of the run does.
    """
    rng = random.Random(seed * 1_000_003 + index)
    source = rng.choices(SOURCES, weights=SOURCE_WEIGHTS)[0]
    layout = {layout_openhands.SOURCE: layout_openhands, layout_nebius.SOURCE: layout_nebius,
              layout_swe_gym.SOURCE: layout_swe_gym}[source]
    ep = build_episode(rng, pools, root_for=layout.root_for, budget_tokens=token_budget(rng),
                       overhead_chars=layout.OVERHEAD_CHARS)
    if body_kb is not None:
        ep = shorten(ep, short_chars(body_kb))
    if source == layout_openhands.SOURCE:
        return source, layout_openhands.row(ep, rng, EPOCH + timedelta(minutes=7 * index))
    return source, layout.row(ep, rng)


def short_chars(body_kb: float) -> int:
    """Characters kept per text of a short-body run (`episode.shorten`); `body_kb` sets the median body's size.

    The run keeps all its turns, so lengths keep their long-tailed shape (and the token sort its spread).
    """
    if body_kb <= 0:
        raise ValueError("body_kb must be positive")
    return max(8, int(SHORT_TURN_CHARS * body_kb))


def iter_rows(records: int, seed: int, body_kb: float | None = None) -> Iterator[tuple[str, bytes]]:
    """(source, JSON line without newline) for every record, in order (`body_kb`: see `short_chars`)."""
    pools = Pools.build(seed)
    for i in range(records):
        source, row = record_row(seed, i, pools, body_kb)
        yield source, json.dumps(row, ensure_ascii=False).encode("utf-8")


def generate_corpus(out_dir: Path, records: int, seed: int = 0,
                    progress: GenerateProgress | None = None, body_kb: float | None = None) -> DemoCorpus:
    """Write `records` rows under `out_dir/<source>/<file>` and return where they are (sources with rows only).

    `body_kb` makes short bodies (median about that many KiB of text) for stores of millions of records.
    """
    files = {s: out_dir / s / name for s, name in FILE_NAMES.items()}
    corpus = DemoCorpus(root=out_dir, files=files, per_source=dict.fromkeys(SOURCES, 0))
    handles = {}
    try:
        for s, path in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            handles[s] = path.open("wb")
        for i, (source, line) in enumerate(iter_rows(records, seed, body_kb), 1):
            handles[source].write(line + b"\n")
            corpus.records += 1
            corpus.bytes += len(line) + 1
            corpus.per_source[source] += 1
            if progress and (i % 200 == 0 or i == records):
                progress(i, records)
    finally:
        for fh in handles.values():
            fh.close()
    for s in SOURCES:  # a tiny corpus may leave a source without rows: no empty file to import
        if corpus.per_source[s] == 0:
            corpus.files.pop(s).unlink()
            del corpus.per_source[s]
    return corpus
