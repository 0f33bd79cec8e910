"""`mira-curator demo`: generate the synthetic demo corpus and import it (used by `make run`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mira_core.cli.progress import ProgressBar
from mira_core.cli.store_cmds import open_engine
from mira_core.demo import load_demo
from mira_core.ingest import Progress


def register(sub: argparse._SubParsersAction) -> None:
    """Add the demo command."""
    p = sub.add_parser("demo", help="generate a synthetic demo corpus (3 sources) and import it, marked synthetic")
    p.add_argument("--records", type=int, default=3000, help="how many trajectories to generate (default 3000)")
    p.add_argument("--seed", type=int, default=0, help="the same seed always generates the same corpus")
    p.add_argument("--if-empty", action="store_true", help="do nothing when the database already holds records")
    p.add_argument("--out", type=Path, default=None, help="keep the generated files in this folder")
    p.add_argument("--body-kb", type=float, default=None,
                   help="short bodies: median run about this many KiB of text (full size: ~12), same sources, "
                        "outcomes and length shape; for stores of millions of records")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    """Generate, import and mark; exit 1 if the importers rejected anything (a generator bug)."""
    if args.records < 1:
        print("error: --records must be at least 1", file=sys.stderr)
        return 2
    if args.body_kb is not None and args.body_kb <= 0:
        print("error: --body-kb must be positive", file=sys.stderr)
        return 2
    engine = open_engine(args.settings)
    gen = None if args.quiet else ProgressBar("generate")
    imp = None if args.quiet else ProgressBar("import")

    def on_generate(done: int, total: int) -> None:
        if gen:
            gen.update(done, total, f"{done:,}/{total:,} records", force=done == total)

    def on_import(p: Progress) -> None:
        if imp:
            imp.update(p.bytes_done, p.bytes_total, f"{p.imported:,} imported")

    result = load_demo(engine, args.records, seed=args.seed, out_dir=args.out, if_empty=args.if_empty,
                       on_generate=on_generate, on_import=on_import, body_kb=args.body_kb)
    for bar in (gen, imp):
        if bar:
            bar.close()
    if result.skipped:
        print("database already holds records: demo corpus not loaded (--if-empty)")
        return 0
    for summary in result.summaries.values():
        for rej in summary.rejected[:20]:
            print(f"rejected {rej.where}: {rej.reason}", file=sys.stderr)
    print(f"demo corpus: generated {result.generated}, imported {result.imported}, rejected {result.rejected}, "
          f"marked synthetic {result.marked}" + (f", files in {args.out}" if args.out else ""))
    return 1 if result.rejected else 0
