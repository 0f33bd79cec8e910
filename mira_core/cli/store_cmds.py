"""Store commands: migrate, import, list, raw, show, serve."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from mira_core.cli.progress import ProgressBar
from mira_core.ingest import Progress, import_paths
from mira_core.query import RecordFilter
from mira_core.settings import PROJECT_ROOT, load_settings
from mira_core.storage import migrate, records_repo
from mira_core.storage.engine import make_engine, read_conn


def open_engine(migrated: bool = True):  # type: ignore[no-untyped-def]
    """The engine for the configured database, migrated to head (idempotent)."""
    engine = make_engine(load_settings().database_url)
    if migrated:
        migrate.upgrade(engine)
    return engine


def register(sub: argparse._SubParsersAction) -> None:
    """Add the store commands."""
    p = sub.add_parser("migrate", help="create or upgrade the database schema (idempotent)")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("import", help="import trajectory files/folders (any supported layout)")
    p.add_argument("paths", nargs="+", type=Path)
    p.add_argument("--source", required=True, help="source name, e.g. agent_openhands, davinc_dev, swe_qa")
    p.add_argument("--format", dest="fmt", default=None, help="override layout auto-detection")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--max-rejections-shown", type=int, default=50)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("list", help="print stored records' metadata")
    p.add_argument("--source", action="append", default=[])
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("raw", help="write a record's raw original bytes to stdout (byte-exact)")
    p.add_argument("record_id")
    p.set_defaults(func=cmd_raw)

    p = sub.add_parser("show", help="print a record's normalized JSON")
    p.add_argument("record_id")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("serve", help="serve the Streamlit app on http://localhost:8501")
    p.add_argument("--port", type=int, default=8501)
    p.set_defaults(func=cmd_serve)


def cmd_migrate(args: argparse.Namespace) -> int:
    """Upgrade the schema to head."""
    open_engine()
    print(f"database ready: {load_settings().database_url}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Import paths and print a summary; exit 1 when some items were rejected."""
    settings = load_settings()
    engine = open_engine()
    bar = None if args.quiet else ProgressBar("import")

    def show(p: Progress) -> None:
        if bar:
            bar.update(p.bytes_done, p.bytes_total, f"{p.imported:,} imported {p.rejected:,} rejected")

    summary = import_paths(engine, args.paths, source=args.source, fmt=args.fmt,
                           max_bytes=settings.max_record_bytes, progress=show)
    if bar:
        bar.update(1, 1, f"{summary.imported:,} imported", force=True)
        bar.close()
    for rej in summary.rejected[: args.max_rejections_shown]:
        print(f"rejected {rej.where}: {rej.reason}", file=sys.stderr)
    if len(summary.rejected) > args.max_rejections_shown:
        print(f"... and {len(summary.rejected) - args.max_rejections_shown} more rejections", file=sys.stderr)
    d = summary.as_dict()
    print(
        f"imported {d['imported']}, already present {d['already_present']}, rejected {d['rejected']}, "
        f"skipped {d.get('skipped', 0)}, "
        f"outcome reports {d['reports']} (joined to {d['outcomes_joined']} records), files {d['files']}"
    )
    return 1 if summary.rejected else 0


def cmd_list(args: argparse.Namespace) -> int:
    """Print metadata of stored records, streaming in pages."""
    engine = open_engine()
    cols = ("record_id", "source", "instance_id", "format", "outcome", "n_steps", "token_estimate")
    with read_conn(engine) as conn:
        for row in records_repo.iter_record_metadata(conn, RecordFilter(sources=args.source)):
            out = {k: row[k] for k in cols}
            out["steps"] = out.pop("n_steps")
            if args.json:
                print(json.dumps(out, ensure_ascii=False))
            else:
                print("\t".join("" if v is None else str(v) for v in out.values()))
    return 0


def cmd_raw(args: argparse.Namespace) -> int:
    """Write the raw original bytes."""
    engine = open_engine()
    with read_conn(engine) as conn:
        raw = records_repo.get_raw(conn, args.record_id)
    sys.stdout.buffer.write(raw)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Print the normalized record."""
    engine = open_engine()
    with read_conn(engine) as conn:
        rec = records_repo.get_record(conn, args.record_id)
    print(rec.model_dump_json(indent=2))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Run `streamlit run app/main.py` with the project's config."""
    open_engine()
    app = PROJECT_ROOT / "app" / "main.py"
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(args.port)]
    return subprocess.call(cmd, cwd=PROJECT_ROOT, env=os.environ.copy())
