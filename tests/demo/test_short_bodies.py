"""`demo --body-kb`: the same corpus with short bodies (for stores of millions of records on one disk)."""

from __future__ import annotations

import statistics

import zstandard
from sqlalchemy import select

from mira_core.cli import main
from mira_core.demo import load_demo
from mira_core.demo.corpus import short_chars
from mira_core.storage import make_engine, migrate
from mira_core.storage.engine import read_conn
from mira_core.storage.tables import record_bodies, records

N = 240


def _load(tmp_path, name, body_kb):
    engine = make_engine(f"sqlite:///{tmp_path / name}")
    migrate.upgrade(engine)
    result = load_demo(engine, N, seed=5, body_kb=body_kb)
    assert (result.imported, result.rejected) == (N, 0)
    with read_conn(engine) as conn:
        meta = conn.execute(select(records.c.source, records.c.outcome, records.c.token_estimate,
                                   records.c.synthetic, records.c.n_steps, records.c.n_errors,
                                   records.c.patch_files)).all()
        bodies = [len(zstandard.ZstdDecompressor().decompress(b)) for b in conn.scalars(select(record_bodies.c.body))]
    engine.dispose()
    return meta, bodies


def _share(meta, source, outcome):
    mine = [m for m in meta if m.source == source]
    return sum(m.outcome == outcome for m in mine) / len(mine)


def test_short_bodies_keep_sources_outcomes_and_the_length_shape(tmp_path):
    full, full_bodies = _load(tmp_path, "full.sqlite", None)
    short, short_bodies = _load(tmp_path, "short.sqlite", 2)
    # bodies (normalized JSON, before compression): a few KiB, well under the full size
    assert statistics.median(short_bodies) < 12 * 1024
    assert statistics.median(full_bodies) > 1.5 * statistics.median(short_bodies)
    assert sum(full_bodies) > 2 * sum(short_bodies)
    # the same runs, cut short: sources, steps and outcomes drawn identically, record by record
    assert sorted((m.source, m.outcome, m.n_steps, m.n_errors, m.patch_files) for m in short) == \
        sorted((m.source, m.outcome, m.n_steps, m.n_errors, m.patch_files) for m in full)
    count = lambda meta: {s: sum(m.source == s for m in meta) for s in {m.source for m in meta}}  # noqa: E731
    assert count(short) == count(full) and len(count(full)) == 3
    assert all(m.synthetic for m in short)
    for source in count(full):  # outcomes: the same kinds in about the same shares
        for outcome in ("resolved", "not_resolved"):
            assert abs(_share(short, source, outcome) - _share(full, source, outcome)) < 0.2, (source, outcome)
            assert _share(short, source, outcome) > 0.1, (source, outcome)
    # token estimates: scaled down, still long-tailed (the token sort keeps its spread)
    tf = sorted(m.token_estimate for m in full)
    ts = sorted(m.token_estimate for m in short)
    assert ts[-1] < tf[-1] and statistics.median(ts) < statistics.median(tf)
    assert ts[-1] > 3 * statistics.median(ts)
    assert len(set(ts)) > N // 2


def test_body_scale_and_the_cli_option(capsys):
    assert short_chars(1) < short_chars(2) < short_chars(4)
    assert main(["demo", "--records", "6", "--body-kb", "2", "--quiet"]) == 0
    assert "imported 6, rejected 0" in capsys.readouterr().out
    assert main(["demo", "--records", "6", "--body-kb", "0", "--quiet"]) == 2
    assert "--body-kb must be positive" in capsys.readouterr().err
