"""Workers started through `SpawnWithoutMain` do not re-run the parent's main script."""

import sys
import types
from concurrent.futures import ProcessPoolExecutor

from mira_core.spawn import SpawnWithoutMain


def test_workers_start_when_the_main_script_cannot_run_again(tmp_path, monkeypatch):
    # what AppTest.from_function and Streamlit's script runner leave behind: a main that fails when re-run
    script = tmp_path / "page.py"
    script.write_text("raise SystemExit('the main script was re-run in a worker')\n")
    main = types.ModuleType("__main__")
    main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", main)

    with ProcessPoolExecutor(2, mp_context=SpawnWithoutMain()) as pool:
        assert sorted(pool.map(abs, [-3, -1, 2])) == [1, 2, 3]
    assert sys.modules["__main__"] is main  # put back after each start


def test_the_plain_spawn_context_would_have_re_run_it(tmp_path, monkeypatch):
    """The case above fails without the context: it guards the failure CI saw, not a no-op."""
    import multiprocessing
    from concurrent.futures.process import BrokenProcessPool

    import pytest

    script = tmp_path / "page.py"
    script.write_text("raise SystemExit('re-run')\n")
    main = types.ModuleType("__main__")
    main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", main)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool, \
            pytest.raises(BrokenProcessPool):
        pool.submit(abs, -1).result(timeout=60)
