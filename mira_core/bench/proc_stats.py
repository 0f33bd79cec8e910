"""CPU, memory and thread counts of process trees, read from Linux's /proc (no psutil).

A tree's CPU is the sum over its live processes of their own time plus the time of the children they have
already reaped, so renderers that came and went are counted by the browser that waited for them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()  # fields from the state on (the name may hold spaces)


def _parents() -> dict[int, int]:
    out = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            out[int(entry.name)] = int(fields[1])
    return out


def tree(root: int, parents: dict[int, int] | None = None) -> list[int]:
    """`root` and every live process below it."""
    parents = parents if parents is not None else _parents()
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU of `pids` and of their reaped children, in seconds."""
    total = 0
    for pid in pids:
        if (f := _stat(pid)) is not None:
            total += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])  # utime stime cutime cstime
    return total / TICK


def split_cpu(roots: dict[str, int]) -> dict[str, float]:
    """CPU seconds of each named tree, plus "browsers": every other process below this one.

    That is Playwright's drivers and their chromiums; a root listed here is left out of the browsers' tree.
    """
    parents = _parents()
    trees = {name: tree(pid, parents) for name, pid in roots.items()}
    named = {pid for pids in trees.values() for pid in pids}
    mine = [p for p in tree(os.getpid(), parents) if p not in named and p != os.getpid()]
    return {**{name: cpu_seconds(pids) for name, pids in trees.items()}, "browsers": cpu_seconds(mine)}


_CPU_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def parse_cpu_line(line: str) -> dict[str, int]:
    """The machine-wide `cpu` line of /proc/stat as ticks per state (guest time is already in user/nice)."""
    values = line.split()
    if not values or values[0] != "cpu":
        raise ValueError(f"not the machine-wide cpu line of /proc/stat: {line[:80]!r}")
    return dict(zip(_CPU_FIELDS, map(int, values[1:1 + len(_CPU_FIELDS)]), strict=False))


def machine_ticks() -> dict[str, int]:
    """All cores' ticks per state since boot (/proc/stat's first line); {} where there is no /proc/stat."""
    try:
        with open("/proc/stat") as f:
            return parse_cpu_line(f.readline())
    except OSError:
        return {}


def machine_shares(before: dict[str, int], after: dict[str, int]) -> dict[str, float]:
    """Shares of all cores' time between two `machine_ticks` readings: busy, waiting on I/O, stolen, idle.

    A benchmark's wall time moves with what else the machine does; these say how it was spent, so two runs
    of the same work with different wall times can be read (e.g. I/O wait, or a hypervisor taking cores).
    """
    d = {k: after.get(k, 0) - before.get(k, 0) for k in _CPU_FIELDS}
    total = sum(d.values()) or 1
    busy = d["user"] + d["nice"] + d["system"] + d["irq"] + d["softirq"]
    return {"busy": round(busy / total, 3), "iowait": round(d["iowait"] / total, 3),
            "steal": round(d["steal"] / total, 3), "idle": round(d["idle"] / total, 3)}


def status(pid: int) -> tuple[float, int]:
    """(resident MiB, threads) of `pid`; (0, 0) once it is gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0.0, 0
    got = dict(line.split(":", 1) for line in lines if ":" in line)
    return int(got.get("VmRSS", "0 kB").split()[0]) / 1024, int(got.get("Threads", "0"))


class PeakWatch:
    """Samples a process's resident memory and thread count every `every` seconds; keeps the peaks."""

    def __init__(self, pid: int, every: float = 0.5):
        self.pid, self.every = pid, every
        self.rss_mb, self.threads = status(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            rss, threads = status(self.pid)
            self.rss_mb, self.threads = max(self.rss_mb, rss), max(self.threads, threads)

    def __enter__(self) -> PeakWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
