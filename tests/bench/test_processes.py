"""`bench.processes.niced_chromium`: the browser launched at a lower priority, or unchanged."""

from __future__ import annotations

import os
import subprocess
import sys

from mira_core.bench.processes import CHROMIUM, niced_chromium


def test_niceness_zero_is_the_browser_itself(tmp_path):
    assert niced_chromium(tmp_path, 0) == CHROMIUM
    assert list(tmp_path.iterdir()) == []


def test_the_wrapper_runs_the_program_with_its_arguments_at_that_niceness(tmp_path):
    script = niced_chromium(tmp_path, 7, executable=sys.executable)
    got = subprocess.run([script, "-c", "import os, sys; print(os.nice(0), sys.argv[1])", "a b"],
                         capture_output=True, text=True, check=True)
    niceness, arg = got.stdout.split(maxsplit=1)
    assert int(niceness) == min(os.nice(0) + 7, 19)
    assert arg.strip() == "a b"  # arguments pass through whole
