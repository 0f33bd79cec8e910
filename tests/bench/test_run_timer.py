"""The run timer: spans, quantiles, and what overlapped the slowest fragment runs."""

import contextlib
import threading
import time

from mira_core.bench.run_timer import RunLog, Span, summarize


def test_a_slow_save_during_a_load_shows_the_overlap_and_the_other_runs():
    spans = [
        Span("fragment", "record", 0.0, 0.1, 0.05),  # quick save, alone
        Span("fragment", "record", 10.0, 10.9, 0.04, 0.06),  # slow save, during a load
        Span("page", "retention", 9.5, 11.5, 1.0),  # the page that loads, 1 s of CPU over 2 s
        Span("selection_load", "retention", 9.6, 11.0, 0.9),
    ]
    out = summarize(spans)
    worst = out["slowest_fragment_runs"]
    assert [w["wall_ms"] for w in worst] == [900, 100]
    assert worst[0] == {"page": "record", "wall_ms": 900, "cpu_ms": 40, "runq_ms": 60, "blocked_ms": 800,
                        "other_runs": 1,
                        "other_runs_cpu_ms": 450, "selection_load_overlap_ms": 900}
    assert worst[1]["other_runs"] == 0 and worst[1]["selection_load_overlap_ms"] == 0
    assert out["by_kind"]["fragment:record"]["wall"] == {"n": 2, "p50_ms": 500, "p95_ms": 900, "max_ms": 900}
    assert out["by_kind"]["selection_load:retention"]["cpu"]["n"] == 1


def test_timed_records_wall_and_this_threads_cpu_even_when_the_call_raises():
    log = RunLog()

    def busy(spin: float) -> None:
        end = time.thread_time() + spin
        while time.thread_time() < end:
            pass
        raise ValueError("boom")

    def sleeper() -> None:
        time.sleep(0.2)

    timed_sleep = log.timed("page", sleeper, lambda: "sleep")
    other = threading.Thread(target=timed_sleep)
    other.start()
    with contextlib.suppress(ValueError):
        log.timed("fragment", busy, lambda spin: f"busy {spin}")(0.05)
    other.join()
    by_name = {s.name: s for s in log.spans}
    assert by_name["busy 0.05"].cpu >= 0.05 and by_name["busy 0.05"].kind == "fragment"
    # the sleeping thread's CPU is its own, not the busy thread's
    assert by_name["sleep"].wall >= 0.2 and by_name["sleep"].cpu < 0.05
    assert by_name["sleep"].blocked >= 0.15  # asleep, neither on a CPU nor in the run queue
    assert log.report()["by_kind"]["page:sleep"]["wall"]["n"] == 1


def test_install_waits_for_streamlit(monkeypatch):
    import sys

    from mira_core.bench.run_timer import install

    monkeypatch.delitem(sys.modules, "streamlit.runtime.scriptrunner.script_runner", raising=False)
    assert install(RunLog()) is False


def test_install_times_every_streamlit_run_and_wraps_the_selection_load(monkeypatch):
    from streamlit.runtime.scriptrunner import script_runner
    from streamlit.testing.v1 import AppTest

    import mira_core.views.retention as retention
    from mira_core.bench.run_timer import install

    # monkeypatch puts both back after the test
    monkeypatch.setattr(script_runner.ScriptRunner, "_run_script", script_runner.ScriptRunner._run_script)
    monkeypatch.setattr(retention, "load_selection", retention.load_selection)
    log = RunLog()
    assert install(log)  # streamlit is loaded in this process

    def app() -> None:
        import streamlit as st

        @st.fragment
        def panel() -> None:
            st.button("Save", key="save")

        st.title("page")
        panel()

    at = AppTest.from_function(app).run()
    at.button(key="save").click().run()
    # AppTest reruns the whole script on a click (a fragment run is told apart only in a served app)
    assert [s.kind for s in log.spans] == ["page", "page"]
    assert all(s.end >= s.start and s.cpu > 0 for s in log.spans)
    assert retention.load_selection.__name__ == "wrapper"  # wrapped at the first run, once
    assert retention.load_selection.run_timer is True
