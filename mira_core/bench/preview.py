"""Benchmark of the retention preview: a new slider value to a ready preview, against a pandas recomputation.

`run(records)` returns medians in milliseconds:
- `preview_ms`: counts + audit details from the precomputed arrays (what the fragment computes);
- `baseline_ms`: the same numbers recomputed with pandas from a per-record DataFrame (aggregates given);
- `rebuild_ms`: rebuilding the precomputed arrays after a mask change (aggregates, sorts, cumulative sums);
  `rebuild_cpu_ms` is this process's CPU time for it, which other work on a shared machine does not inflate;
- `page_rerun_ms`: a full AppTest rerun of the retention page after a slider change, on a generated SQLite
  database (only up to `page_max` records: generating a bigger database takes minutes; `page_skipped` says why);
  `load_ms` is `load_selection_data` on that database (once per data version: the page caches the arrays).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mira_core.dimensions import SLOTS
from mira_core.selection.data import SelectionData
from mira_core.selection.generate import generate_data
from mira_core.selection.preview import Cut, Precomputed, PreviewSettings, details, precompute, preview

PAGE = Path(__file__).resolve().parents[2] / "app" / "screens" / "retention.py"


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 4)


def threshold_settings(pre: Precomputed, t: float) -> PreviewSettings:
    """Every source cut at threshold `t` (what moving the sliders sets)."""
    return PreviewSettings(cuts={s: Cut("threshold", t) for s in pre.sources}, downsample_weight=0.5)


def _frame(pre: Precomputed) -> pd.DataFrame:
    d = pre.data
    df = pd.DataFrame(d.scores.astype(np.float64), columns=list(SLOTS))
    df["source"] = np.asarray(d.sources)[d.source_codes]
    df["value"] = pre.values
    df["tokens"] = d.tokens
    df["status"] = pre.status
    df["resolved"] = d.outcome == 1
    df["known"] = d.outcome >= 0
    df["rec"] = d.recommendation
    return df


def pandas_preview(df: pd.DataFrame, t: float) -> dict[str, pd.DataFrame]:
    """The straightforward way: mask, group by source, aggregate everything the preview shows."""
    scored = df[df["status"] == 0]
    kept = scored["value"] >= t
    g = scored.assign(kept=kept).groupby(["source", "kept"])
    counts = g.agg(n=("value", "size"), tokens=("tokens", "sum"), resolved=("resolved", "sum"),
                   known=("known", "sum"))
    dims = g[list(SLOTS)].mean()
    agreement = pd.crosstab([scored["source"], kept], scored["rec"])
    forced = df[df["status"] == 2].groupby("source")["tokens"].agg(["size", "sum"])
    return {"counts": counts, "dims": dims, "agreement": agreement, "forced": forced}


def _check_same(pre: Precomputed, df: pd.DataFrame, t: float) -> None:
    p = preview(pre, threshold_settings(pre, t))
    base = pandas_preview(df, t)["counts"]
    for sp in p.sources:
        want = int(base.loc[(sp.source, True), "n"]) if (sp.source, True) in base.index else 0
        if want != sp.cut_records:
            raise AssertionError(f"{sp.source}: preview kept {sp.cut_records}, pandas {want}")


def _page_rerun(records: int, reruns: int) -> tuple[list[float], list[float]]:
    """AppTest reruns of the Retention page, timed in a process of their own.

    Measured by `benchmarks/retention_page_rerun.py` in its own process, so the core never imports streamlit.
    """
    script = PAGE.parents[2] / "benchmarks" / "retention_page_rerun.py"
    out = subprocess.run([sys.executable, str(script), "--records", str(records), "--reruns", str(reruns)],
                         capture_output=True, text=True, cwd=PAGE.parents[2])
    if out.returncode != 0:
        raise RuntimeError(f"retention page rerun benchmark failed: {out.stderr.strip().splitlines()[-1:]}")
    got = json.loads(out.stdout.strip().splitlines()[-1])
    return got["times"], got["loads"]


def rebuild_samples(data: SelectionData, rebuilds: int) -> tuple[Precomputed, list[float], list[float]]:
    """Precompute `rebuilds` times, each after a mask change; the last result and wall / CPU seconds."""
    mask = np.zeros((len(data.sources), 15), dtype=bool)
    mask[0, [2, 7]] = True
    mask[2, 11] = True
    rebuild: list[float] = []
    rebuild_cpu: list[float] = []
    pre = None
    for r in range(rebuilds):
        mask[1, r % 15] = not mask[1, r % 15]  # a mask change each time
        t0, c0 = time.perf_counter(), time.process_time()
        pre = precompute(data, mask)
        rebuild.append(time.perf_counter() - t0)
        rebuild_cpu.append(time.process_time() - c0)
    if pre is None:
        raise ValueError("the preview bench needs at least one rebuild")
    return pre, rebuild, rebuild_cpu


def preview_samples(pre: Precomputed, previews: int) -> tuple[list[float], list[float]]:
    """Seconds per preview for `previews` slider values: counts only, and counts + audit details."""
    thresholds = np.linspace(3.0, 8.0, 97)
    counts_only, full = [], []
    for i in range(previews):
        s = threshold_settings(pre, float(thresholds[i % len(thresholds)]))
        t0 = time.perf_counter()
        p = preview(pre, s)
        t1 = time.perf_counter()
        details(pre, p.counts)
        t2 = time.perf_counter()
        counts_only.append(t1 - t0)
        full.append(t2 - t0)
    return counts_only, full


def run(records: int = 231_762, *, previews: int = 2000, baselines: int = 20, rebuilds: int = 5,
        page_max: int = 300_000, reruns: int = 15) -> dict[str, object]:
    """Measure and return the medians (see the module docstring)."""
    pre, rebuild, rebuild_cpu = rebuild_samples(generate_data(records, seed=1), rebuilds)
    counts_only, full = preview_samples(pre, previews)
    thresholds = np.linspace(3.0, 8.0, 97)
    df = _frame(pre)
    base = []
    for i in range(baselines):
        t = float(thresholds[(i * 7) % len(thresholds)])
        t0 = time.perf_counter()
        pandas_preview(df, t)
        base.append(time.perf_counter() - t0)
    _check_same(pre, df, 5.5)
    out: dict[str, object] = {
        "records": records,
        "preview_ms": _median_ms(full),
        "preview_counts_ms": _median_ms(counts_only),
        "baseline_ms": _median_ms(base),
        "rebuild_ms": _median_ms(rebuild),
        "rebuild_cpu_ms": _median_ms(rebuild_cpu),
        "load_average": round(os.getloadavg()[0], 2),
    }
    out["speedup"] = round(_median_ms(base) / _median_ms(full), 1) if _median_ms(full) else None
    if records <= page_max:
        reruns_s, loads_s = _page_rerun(records, reruns)
        out["page_rerun_ms"] = _median_ms(reruns_s)
        out["load_ms"] = _median_ms(loads_s)
        out["page_rerun_note"] = "full AppTest rerun of app/screens/retention.py on a generated SQLite database"
    else:
        out["page_rerun_ms"] = None
        out["page_skipped"] = (f"{records} records > page_max {page_max}: generating that database takes minutes; "
                               "the page computes the same preview measured by preview_ms")
    return out


def main(argv: list[str] | None = None) -> int:
    """`python -m mira_core.bench.preview --records N` prints the JSON result."""
    ap = argparse.ArgumentParser(prog="bench preview", description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--records", type=int, default=231_762)
    ap.add_argument("--page-max", type=int, default=300_000, help="largest size for the AppTest page rerun")
    args = ap.parse_args(argv)
    print(json.dumps(run(args.records, page_max=args.page_max)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
