"""Where a server's threads spend their time: a sampling profiler run inside the process it watches.

`python -m mira_core.bench.stack_sampler OUT.json -- ARGS...` samples every thread's stack every 10 ms
(`sys._current_frames`, no py-spy needed) and runs `python -m streamlit ARGS...` in the same process; the
report (rewritten every 5 s) counts, per thread kind, how often each function of the project was on the
stack (inclusive) and at its top (self), so the Streamlit script threads' time can be split by page, loader
and SQL call. The sampler itself needs the GIL, so samples land where threads let go of it: a lower bound
on pure-Python hot spots, a fair picture of where script runs wait. Each script run and selection load is
also timed (`run_timer`: wall against thread CPU, and what overlapped the slowest fragment runs).
"""

from __future__ import annotations

import json
import runpy
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import FrameType

from mira_core.bench.run_timer import RunLog, install
from mira_core.settings import PROJECT_ROOT

ROOT = str(PROJECT_ROOT)


def _kind(name: str) -> str:
    if name.startswith("ScriptRunner"):
        return "script"
    return "main" if name == "MainThread" else name.split("-")[0].split("_")[0]


def _where(frame: FrameType) -> str:
    code = frame.f_code
    path = code.co_filename
    short = path[len(ROOT) + 1:] if path.startswith(ROOT) else path.rsplit("site-packages/", 1)[-1]
    return f"{short}:{code.co_name}"


class Sampler:
    """Counts of (thread kind, function) on the stack and on top, plus samples per thread kind."""

    def __init__(self, out: Path, every: float = 0.01, runs: RunLog | None = None):
        self.out, self.every, self.runs = out, every, runs
        self.samples: Counter[str] = Counter()
        self.inclusive: dict[str, Counter[str]] = {}
        self.top: dict[str, Counter[str]] = {}

    def _take(self) -> None:
        names = {t.ident: t.name for t in threading.enumerate()}
        me = threading.get_ident()
        for ident, frame in sys._current_frames().items():
            if ident == me:
                continue
            kind = _kind(names.get(ident, "?"))
            self.samples[kind] += 1
            self.top.setdefault(kind, Counter())[_where(frame)] += 1
            seen = set()
            f: FrameType | None = frame
            while f is not None:
                seen.add(_where(f))
                f = f.f_back
            self.inclusive.setdefault(kind, Counter()).update(seen)

    def _write(self) -> None:
        report = {"every_s": self.every, "samples": dict(self.samples),
                  "inclusive": {k: c.most_common(60) for k, c in self.inclusive.items()},
                  "self": {k: c.most_common(40) for k, c in self.top.items()},
                  "runs": self.runs.report() if self.runs is not None else {}}
        self.out.write_text(json.dumps(report, indent=1))

    def run(self) -> None:
        """Sample until the process ends, writing the report every 5 s."""
        last, timing = time.monotonic(), self.runs is None
        while True:
            time.sleep(self.every)
            if not timing and self.runs is not None:
                timing = install(self.runs)  # once Streamlit is imported, before any session connects
            self._take()
            if time.monotonic() - last > 5:
                self._write()
                last = time.monotonic()


def main() -> None:
    """Start the sampler thread, then run streamlit with the arguments after `--`."""
    out, args = Path(sys.argv[1]), sys.argv[sys.argv.index("--") + 1:]
    threading.Thread(target=Sampler(out, runs=RunLog()).run, name="stack-sampler", daemon=True).start()
    sys.argv = ["streamlit", *args]
    runpy.run_module("streamlit", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
