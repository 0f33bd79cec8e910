"""`python -m mira_core.scoring.worker_main`: the scoring worker without the whole CLI (what the app spawns).

The one place this process configures logging and reads its settings.
"""

from __future__ import annotations

import argparse
import logging
import sys

from mira_core.scoring.settings import api_key_source
from mira_core.scoring.worker import WorkerOptions
from mira_core.scoring.worker_lock import WorkerBusy
from mira_core.scoring.worker_process import lower_priority, run_worker
from mira_core.settings import load_settings
from mira_core.storage import open_store

logger = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    """Serve queued jobs until stopped or idle for `--idle-exit` seconds; 1 when another worker is alive."""
    parser = argparse.ArgumentParser(prog="mira_core.scoring.worker_main", description="the MIRA scoring worker")
    parser.add_argument("--idle-exit", type=float, default=None)
    parser.add_argument("--poll", type=float, default=1.0)
    parser.add_argument("--nice", type=int, default=0, choices=range(20), metavar="0-19",
                        help="raise the niceness by this much")
    args = parser.parse_args(argv)
    lower_priority(args.nice)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # it reports every start's version check at INFO
    settings = load_settings()
    engine = open_store(settings.database_url, shared=False)
    try:
        runs = run_worker(engine, settings, WorkerOptions(idle_exit=args.idle_exit, poll=args.poll,
                                                         api_key=api_key_source()[0]))
    except WorkerBusy as exc:
        logger.error("%s", exc)
        return 1
    logger.info("scoring worker stopped after %d job runs", runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
