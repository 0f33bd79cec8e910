"""`bench browser` end to end at a few hundred records: one JSON object with every figure, all positive."""

import json

import pytest

from mira_core.cli import main

pytestmark = pytest.mark.browser

KEYS = ("websocket_rerun_floor_ms_p50", "slider_to_preview_ms_p50", "slider_to_preview_ms_p95",
        "browse_filter_ms_p50", "record_open_ms_p50", "record_open_longest_ms", "spot_check_answer_ms_p50")


def test_bench_browser_prints_every_figure(tmp_path, capsys):
    assert main(["bench", "browser", "--records", "300", "--samples", "3", "--work-dir", str(tmp_path)]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["benchmark"] == "browser" and out["records"] == 300
    for key in KEYS:
        assert out[key] > 0, key
        if key != "websocket_rerun_floor_ms_p50":
            ratio = key.replace("_ms", "") + "_x_floor"
            assert out[ratio] == pytest.approx(out[key] / out["websocket_rerun_floor_ms_p50"], abs=0.01)
