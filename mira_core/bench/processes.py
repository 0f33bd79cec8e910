"""Child processes the browser benchmarks and browser tests start: a `streamlit run` server, free ports.

One place for the start-and-wait-for-health dance, so `bench browser`, `bench load` and the Playwright tests
(`tests/browser/conftest.py`) start the app the same way.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from mira_core.errors import MiraError
from mira_core.settings import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
"""Debian's chromium (`make chromium`), driven by Playwright in the browser tests and benchmarks."""
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-gpu"]


def niced_chromium(folder: Path, niceness: int, executable: str = CHROMIUM) -> str:
    """The browser executable to give Playwright: `executable`, or a script in `folder` running it under `nice`.

    The script execs it, so its processes are the browser's own (CPU accounting is unchanged) and every
    process it starts inherits the priority.
    """
    if niceness <= 0:
        return executable
    script = folder / f"{Path(executable).name}-nice{niceness}"
    script.write_text(f'#!/bin/sh\nexec nice -n {niceness} {executable} "$@"\n')
    script.chmod(0o755)
    return str(script)


class Served(NamedTuple):
    """A running `streamlit run`: its base URL and process id (for CPU, memory and thread counts)."""

    url: str
    pid: int


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(script: str, env: Mapping[str, str], log: Path, *, port: int | None = None,
          extra_args: Sequence[str] = (), host: str = "127.0.0.1", profile: Path | None = None) -> Iterator[Served]:
    """`streamlit run script` from the project folder (its .streamlit/config.toml applies) until the block ends.

    `env` is added to this process's environment; `port` when the caller must know it beforehand (a sign-in
    redirect URI); `host` is the name in the yielded URL (a sign-in cookie is only sent back to the
    redirect URI's host); `profile` runs the server under `stack_sampler`, its report there. Raises MiraError with the end of the server's log when it does not become healthy.
    """
    port = port or free_port()
    runner = ["-m", "mira_core.bench.stack_sampler", str(profile), "--"] if profile else ["-m", "streamlit"]
    cmd = [sys.executable, *runner, "run", script, "--server.port", str(port), "--server.headless", "true",
           "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false", *extra_args]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_healthy(proc, f"http://127.0.0.1:{port}", log)
            yield Served(f"http://{host}:{port}", proc.pid)
        finally:
            stop(proc)


def wait_healthy(proc: subprocess.Popen, base: str, log: Path, timeout_s: float = 90) -> None:
    """Until `base/_stcore/health` answers ok; MiraError when the process dies or `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(base + "/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise MiraError("streamlit did not start: " + log.read_text(errors="replace")[-2000:])
        time.sleep(0.2)


def stop(proc: subprocess.Popen) -> None:
    """Terminate `proc`, killing it when it has not exited within 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
