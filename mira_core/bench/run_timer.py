"""Each Streamlit script run's wall time split into CPU, waiting for a CPU, and blocked; and what ran beside it.

Installed in the app server by the stack sampler (`bench load --profile`). A run's wall time is its thread's
CPU time, plus time runnable but waiting for a core (the run queue: the machine is busy), plus time blocked
(asleep on the interpreter lock held by other threads, on the database or on a socket). For the
slowest runs the report counts the other runs and the selection loads (Retention's scores) that overlapped
them, so a save slowed by a load tells apart from a save slowed by the crowd.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Span:
    """One timed call: a script run (`page` or `fragment`, named by page) or a `selection_load`."""

    kind: str
    name: str
    start: float
    end: float
    cpu: float
    runq: float = 0.0

    @property
    def wall(self) -> float:
        """Seconds on the clock, waits included."""
        return self.end - self.start

    @property
    def blocked(self) -> float:
        """Neither on a CPU nor waiting for one: asleep on the interpreter lock, the database or a socket."""
        return max(0.0, self.wall - self.cpu - self.runq)


def _thread_clock() -> tuple[float, float]:
    """This thread's (CPU seconds, seconds runnable but waiting for a CPU; Linux's schedstat, else 0).

    CPU comes from `thread_time`: schedstat's CPU figure of a running thread is only brought up to date at a
    scheduler tick or switch, so a run shorter than a tick could read 0 (seen in CI).
    """
    try:
        with open("/proc/thread-self/schedstat", encoding="ascii") as f:
            waited = int(f.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):  # not Linux
        waited = 0.0
    return time.thread_time(), waited


def _overlap(a: Span, b: Span) -> float:
    return max(0.0, min(a.end, b.end) - max(a.start, b.start))


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _quantiles(values: list[float]) -> dict[str, int]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"n": len(ordered), "p50_ms": _ms(statistics.median(ordered)), "p95_ms": _ms(p95),
            "max_ms": _ms(ordered[-1])}


def summarize(spans: list[Span], slowest: int = 12) -> dict[str, Any]:
    """Per (kind, page): wall and CPU quantiles; the slowest fragment runs with what overlapped them."""
    groups: dict[str, list[Span]] = {}
    for s in spans:
        groups.setdefault(f"{s.kind}:{s.name}", []).append(s)
    table = {key: {"wall": _quantiles([s.wall for s in group]), "cpu": _quantiles([s.cpu for s in group]),
                   "runq": _quantiles([s.runq for s in group]), "blocked": _quantiles([s.blocked for s in group])}
             for key, group in sorted(groups.items())}
    loads = [s for s in spans if s.kind == "selection_load"]
    runs = [s for s in spans if s.kind in ("page", "fragment")]
    worst = sorted((s for s in runs if s.kind == "fragment"), key=lambda s: s.wall, reverse=True)[:slowest]
    detail = [{"page": s.name, "wall_ms": _ms(s.wall), "cpu_ms": _ms(s.cpu), "runq_ms": _ms(s.runq),
               "blocked_ms": _ms(s.blocked),
               "other_runs": sum(1 for o in runs if o is not s and _overlap(s, o) > 0),
               "other_runs_cpu_ms": _ms(sum(o.cpu * _overlap(s, o) / o.wall for o in runs
                                            if o is not s and o.wall > 0)),
               "selection_load_overlap_ms": _ms(sum(_overlap(s, load) for load in loads))}
              for s in worst]
    return {"by_kind": table, "slowest_fragment_runs": detail}


class RunLog:
    """Thread-safe list of spans, filled by the wrappers `install` puts around Streamlit and the loader."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.spans: list[Span] = []

    def timed(self, kind: str, fn: Callable[..., Any], name: Callable[..., str]) -> Callable[..., Any]:
        """`fn`, timed: each call (returned or raised) adds a span named by `name(*args, **kwargs)`."""

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start, (cpu, runq) = time.monotonic(), _thread_clock()
            try:
                return fn(*args, **kwargs)
            finally:
                cpu_end, runq_end = _thread_clock()
                span = Span(kind, name(*args, **kwargs), start, time.monotonic(), cpu_end - cpu, runq_end - runq)
                with self._lock:
                    self.spans.append(span)
        return wrapper

    def report(self) -> dict[str, Any]:
        """`summarize` of the spans so far (empty before the first)."""
        with self._lock:
            spans = list(self.spans)
        return summarize(spans) if spans else {}


def _page_of(runner: Any, rerun_data: Any) -> str:
    """The page a run drew (read after the run: a fragment run's rerun data names no page)."""
    try:
        ctx = runner._get_script_run_ctx()
        page = ctx.pages_manager.get_pages().get(ctx.page_script_hash, {})
        return str(page.get("url_pathname") or page.get("page_name") or "?")
    except Exception:  # a bench probe must never break the server it watches
        return "?"


def _time_loads(log: RunLog) -> None:
    """Wrap `load_selection` once, from a script thread (the sampler's thread would race the main's imports)."""
    import mira_core.views.retention as retention

    if not getattr(retention.load_selection, "run_timer", False):
        timed = log.timed("selection_load", retention.load_selection, lambda *_, **__: "retention")
        timed.run_timer = True  # type: ignore[attr-defined]
        retention.load_selection = timed


def install(log: RunLog) -> bool:
    """Time every script run and selection load from now on, once Streamlit is loaded in this process.

    Returns False (and changes nothing) while Streamlit's script runner is not loaded yet: the stack sampler
    calls this on each tick until it takes. Looking it up in `sys.modules` keeps `mira_core` free of any
    import of Streamlit; the page files re-import `load_selection` on every run, so wrapping it at the first
    run still times every load.
    """
    script_runner = sys.modules.get("streamlit.runtime.scriptrunner.script_runner")
    runner_class: Any = getattr(script_runner, "ScriptRunner", None)
    if runner_class is None:
        return False
    original = runner_class._run_script

    def run(runner: Any, rerun_data: Any) -> None:
        _time_loads(log)
        kind = "fragment" if rerun_data.fragment_id_queue else "page"
        log.timed(kind, original, lambda *_: _page_of(runner, rerun_data))(runner, rerun_data)

    runner_class._run_script = run
    return True
