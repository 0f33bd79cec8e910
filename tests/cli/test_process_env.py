"""The command line turns off numpy's huge-page requests for itself and the processes it starts."""

import os
import subprocess
import sys

import pytest

PROBE = ("import os, mira_core.cli, numpy; from numpy._core import multiarray; "
         "print(os.environ['NUMPY_MADVISE_HUGEPAGE'], multiarray._get_madvise_hugepage())")


def _probe(env: dict[str, str]) -> str:
    return subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="numpy asks for huge pages on Linux only")
def test_numpy_huge_pages_are_off_unless_the_environment_says_otherwise():
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    assert _probe(env) == "0 False"  # set before numpy was imported, and inherited by children
    assert _probe({**env, "NUMPY_MADVISE_HUGEPAGE": "1"}) == "1 True"  # the user's own choice wins
