"""A spawn context whose children never re-run the parent's main script.

A spawned child first re-runs the parent's `__main__` by path (as `__mp_main__`) so that functions defined
there can be unpickled. The import workers need nothing from it, and the main module is not always a
script that can run twice: Streamlit's script runner and `AppTest.from_function` put a page (or a
generated file) there, and re-running it killed every worker. Hiding the main module while a child is
started (a few milliseconds) makes the child import only what its work needs, which also starts it faster
than re-importing the CLI with its whole storage stack.
"""

from __future__ import annotations

import sys
import types
from multiprocessing.context import SpawnContext, SpawnProcess


class _Process(SpawnProcess):
    def start(self) -> None:
        main = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")  # no __file__, no __spec__: nothing to re-run
        try:
            super().start()
        finally:
            if main is not None:
                sys.modules["__main__"] = main


class SpawnWithoutMain(SpawnContext):
    """`multiprocessing.get_context("spawn")`, but children are started without the parent's main script."""

    Process = _Process
