"""The preview benchmark runs end to end at a tiny size and agrees with its pandas baseline (no timing asserts)."""

import pandas as pd

from mira_core.bench.preview import _frame, pandas_preview, run
from mira_core.selection.generate import generate_data
from mira_core.selection.preview import Cut, PreviewSettings, precompute, preview


def test_bench_reports_every_key_and_the_page_rerun():
    out = run(600, previews=5, baselines=2, rebuilds=1, page_max=1000, reruns=2)
    for key in ("records", "preview_ms", "baseline_ms", "rebuild_ms", "page_rerun_ms"):
        assert out[key] is not None, key
    assert out["records"] == 600
    skipped = run(600, previews=5, baselines=2, rebuilds=1, page_max=100)
    assert skipped["page_rerun_ms"] is None and "page_max" in skipped["page_skipped"]


def test_pandas_baseline_matches_the_preview():
    import numpy as np

    data = generate_data(3000, seed=5)
    pre = precompute(data, np.zeros((3, 15), dtype=bool))
    base = pandas_preview(_frame(pre), 6.0)
    p = preview(pre, PreviewSettings(cuts={s: Cut("threshold", 6.0) for s in pre.sources}))
    for sp in p.sources:
        row = base["counts"].loc[(sp.source, True)]
        assert (int(row["n"]), int(row["tokens"])) == (sp.cut_records, sp.kept_tokens - sp.force_keep_tokens)
    assert isinstance(base["dims"], pd.DataFrame)
