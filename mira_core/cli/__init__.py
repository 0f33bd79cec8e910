"""The `mira-curator` command line: a thin layer over the core. Errors become one-line messages, exit 1.

Each command group lives in its own module with a `register(subparsers)` function; add new modules to
`COMMAND_MODULES`.
"""

from __future__ import annotations

import os

# numpy asks the kernel for transparent huge pages on each large array. Where the kernel then compacts memory
# on the page fault (THP defrag "madvise", Debian's default, as on these machines) and fails, filling a fresh
# 138 MB array took 0.3 s instead of 0.06 s: 0.5-1 s of a 2.3M-record selection load (docs/BENCHMARKS.md).
# Set before numpy is first imported, for this process and the ones it starts (app server, workers); a value
# already in the environment wins.
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")

import argparse
import importlib
import sys

from mira_core.errors import MiraError
from mira_core.settings import load_settings
from mira_core.team import cli_operator

COMMAND_MODULES = [
    "mira_core.cli.store_cmds",
    "mira_core.cli.scoring_cmds",
    "mira_core.cli.demo_cmds",
    "mira_core.cli.bench_cmds",
    "mira_core.cli.selection_cmds",
    "mira_core.cli.reliability_cmds",
    "mira_core.cli.parse_cmds",
    "mira_core.cli.team_cmds",
]


def build_parser() -> argparse.ArgumentParser:
    """The full parser (also used by the test that every command is documented)."""
    parser = argparse.ArgumentParser(prog="mira-curator", description="MIRA Curator: curate mid-training data.")
    parser.add_argument("--as", dest="as_user", default=None, metavar="EMAIL",
                        help="the operator's name on every change this command makes (default: the local user)")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.settings = load_settings()  # the one place the CLI reads MIRA_* variables
        args.actor = cli_operator(args.as_user or args.settings.curator)
        rc = args.func(args)
    except MiraError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `mira-curator list | head`: the reader left; not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
