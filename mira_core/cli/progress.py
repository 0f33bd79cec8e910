"""A small text progress bar for the CLI (stderr; redraws in place on a terminal, sparse lines otherwise)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """Call `update(done, total, note)`; shows percent, counts, rate and ETA."""

    def __init__(self, label: str, stream: TextIO | None = None, min_interval: float = 0.2):
        self.label, self.stream = label, stream or sys.stderr
        self.start = time.monotonic()
        self.last = 0.0
        self.min_interval = min_interval if self.stream.isatty() else 5.0

    def update(self, done: float, total: float, note: str = "", force: bool = False) -> None:
        """Redraw if enough time passed (or `force`)."""
        now = time.monotonic()
        if not force and now - self.last < self.min_interval:
            return
        self.last = now
        frac = done / total if total else 1.0
        elapsed = now - self.start
        eta = (elapsed / frac - elapsed) if frac > 0 else float("nan")
        width = 30
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        line = f"{self.label} [{bar}] {frac:6.1%} {note} elapsed {elapsed:5.1f}s eta {eta:5.1f}s"
        if self.stream.isatty():
            self.stream.write("\r" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line."""
        if self.stream.isatty():
            self.stream.write("\n")
            self.stream.flush()
