"""Store commands: migrate, import, list, raw, show, serve."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Engine

from mira_core.cli.exposure import auth_configured, exposure_problem, is_loopback
from mira_core.cli.progress import ProgressBar
from mira_core.errors import ConfigError
from mira_core.ingest import Progress, import_paths
from mira_core.query import RecordFilter
from mira_core.scoring.settings import SECRETS_FILE
from mira_core.settings import PROJECT_ROOT, Settings
from mira_core.storage import migrate, records_repo
from mira_core.storage.engine import make_engine, read_conn


def open_engine(settings: Settings, migrated: bool = True) -> Engine:
    """The engine for the configured database, migrated to head (idempotent)."""
    engine = make_engine(settings.database_url)
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
    p.add_argument("--max-rejections-shown", type=int, default=50, help="rejected and skipped paths listed (each)")
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
    p.add_argument("--address", default="127.0.0.1",
                   help="where to listen (default 127.0.0.1; any other address needs sign-in configured)")
    p.add_argument("--no-auth-on-network", action="store_true",
                   help="serve on a non-loopback address without sign-in anyway (warns on every start)")
    p.add_argument("--simulator", action="store_true",
                   help="also run the SIMULATED scorer on 127.0.0.1:8000 (a demo/test double of vLLM)")
    p.add_argument("--demo-scores", action="store_true",
                   help="score a synthetic-only store with the scorer and add SIMULATED teacher labels (idempotent)")
    p.set_defaults(func=cmd_serve)


def cmd_migrate(args: argparse.Namespace) -> int:
    """Upgrade the schema to head."""
    open_engine(args.settings)
    print(f"database ready: {args.settings.database_url}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Import paths and print a summary; exit 1 when some items were rejected."""
    settings = args.settings
    engine = open_engine(args.settings)
    bar = None if args.quiet else ProgressBar("import")

    def show(p: Progress) -> None:
        if bar:
            bar.update(p.bytes_done, p.bytes_total, f"{p.imported:,} imported {p.rejected:,} rejected")

    summary = import_paths(engine, args.paths, source=args.source, fmt=args.fmt,
                           max_bytes=settings.max_record_bytes, progress=show)
    if bar:
        bar.update(1, 1, f"{summary.imported:,} imported", force=True)
        bar.close()
    for label, entries in (("rejected", summary.rejected), ("skipped", summary.skipped)):
        for rej in entries[: args.max_rejections_shown]:
            print(f"{label} {rej.where}: {rej.reason}", file=sys.stderr)
        if len(entries) > args.max_rejections_shown:
            print(f"... and {len(entries) - args.max_rejections_shown} more {label}", file=sys.stderr)
    d = summary.as_dict()
    print(
        f"imported {d['imported']}, already present {d['already_present']}, rejected {d['rejected']}, "
        f"skipped {d.get('skipped', 0)}, "
        f"outcome reports {d['reports']} (joined to {d['outcomes_joined']} records), files {d['files']}"
    )
    return 1 if summary.rejected else 0


def cmd_list(args: argparse.Namespace) -> int:
    """Print metadata of stored records, streaming in pages."""
    engine = open_engine(args.settings)
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
    engine = open_engine(args.settings)
    with read_conn(engine) as conn:
        raw = records_repo.get_raw(conn, args.record_id)
    sys.stdout.buffer.write(raw)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Print the normalized record."""
    engine = open_engine(args.settings)
    with read_conn(engine) as conn:
        rec = records_repo.get_record(conn, args.record_id)
    print(rec.model_dump_json(indent=2))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Run `streamlit run app/main.py`; optionally with the SIMULATED scorer and demo scores first."""
    refusal, warning = exposure_problem(args.address, signed_in=auth_configured(SECRETS_FILE),
                                        allow_no_auth=args.no_auth_on_network)
    if refusal:
        raise ConfigError(refusal)
    if warning:
        print(warning, file=sys.stderr)
    open_engine(args.settings)
    env = os.environ.copy()
    children: list[subprocess.Popen] = []
    try:
        if args.simulator:
            children.append(_start_simulator(env))
        if args.demo_scores:
            _demo_scores(args.settings, env)
        app = PROJECT_ROOT / "app" / "main.py"
        cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(args.port),
               "--server.address", args.address]
        host = "localhost" if is_loopback(args.address) else args.address
        print(f"serving MIRA Curator on http://{host}:{args.port}", file=sys.stderr)
        app_proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env)
        children.append(app_proc)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a stopped `serve` stops the app with it
        return app_proc.wait()
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=30)


SIM_PORT = 8000


def _start_simulator(env: dict[str, str]) -> subprocess.Popen:
    """Start the SIMULATED scorer and point the scorer settings at it (unless one already answers there)."""
    import urllib.request

    url = f"http://127.0.0.1:{SIM_PORT}/v1"
    env.setdefault("MIRA_SCORER_BASE_URL", url)
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / "mira-simulated-scorer.log", "ab")  # noqa: SIM115
    child = subprocess.Popen(
        [sys.executable, "-m", "mira_core.cli", "simulate-scorer", "--port", str(SIM_PORT), "--latency", "0.02"],
        cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    for _ in range(100):
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=1):
                print(f"SIMULATED scorer (demo/test double of vLLM) on {url}", file=sys.stderr)
                return child
        except OSError:
            if child.poll() is not None:
                print(f"SIMULATED scorer did not start (port {SIM_PORT} busy?); scoring uses {env['MIRA_SCORER_BASE_URL']}",
                      file=sys.stderr)
                return child
            time.sleep(0.1)
    return child


def _demo_scores(settings: Settings, env: dict[str, str]) -> None:
    """Score a demo store once (job id `demo-initial`) and label half of it with the SIMULATED teacher."""
    engine = open_engine(settings)
    with read_conn(engine) as conn:
        total = records_repo.count_records(conn, RecordFilter())
        synthetic_only = total > 0 and records_repo.count_synthetic(conn) == total
    if not synthetic_only:
        return
    base = [sys.executable, "-m", "mira_core.cli"]
    subprocess.call([*base, "score", "--filter", "{}", "--job-id", "demo-initial", "--label", "demo corpus", "--wait"],
                    cwd=PROJECT_ROOT, env=env)
    subprocess.call([*base, "demo-teacher"], cwd=PROJECT_ROOT, env=env)
