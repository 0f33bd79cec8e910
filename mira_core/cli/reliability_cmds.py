"""Reliability commands: import-teacher, demo-teacher, tag, and `mask list/export/import/activate/from-rules`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pydantic import ValidationError

from mira_core.cli.store_cmds import open_engine
from mira_core.query import RecordFilter
from mira_core.reliability import mask_store
from mira_core.reliability.demo_teacher import DEMO_TEACHER, label_demo_corpus
from mira_core.reliability.masks import MaskRules, build_mask, mask_from_json, mask_to_json
from mira_core.reliability.metrics import reliability_matrix
from mira_core.reliability.teacher import TeacherImportSummary, import_teacher_file
from mira_core.storage import reliability_repo as repo
from mira_core.storage import spot_checks_repo
from mira_core.storage.engine import read_conn, write_tx
from mira_core.views.annotations import tag_all_matches


def register(sub: argparse._SubParsersAction) -> None:
    """Add the reliability commands."""
    p = sub.add_parser("import-teacher", help="import teacher labels (JSONL: record_id or source+instance_id, "
                                              "raw_output or scores)")
    p.add_argument("path", type=Path)
    p.add_argument("--teacher", required=True, help="teacher name, e.g. kimi-k2.6 (several teachers can coexist)")
    p.add_argument("--max-rejections-shown", type=int, default=50)
    p.set_defaults(func=cmd_import_teacher)

    p = sub.add_parser("demo-teacher", help="give student-scored records SIMULATED teacher labels (demo only)")
    p.add_argument("--teacher", default=DEMO_TEACHER)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--coverage", type=float, default=0.5, help="share of records that get a label (default 0.5)")
    p.set_defaults(func=cmd_demo_teacher)

    p = sub.add_parser("tag", help="add (or --remove) a tag on every record matching a filter")
    p.add_argument("tag")
    p.add_argument("--filter", default="{}", help='RecordFilter JSON, e.g. \'{"sources": ["swe_qa"]}\' ({} = all)')
    p.add_argument("--remove", action="store_true")
    p.set_defaults(func=cmd_tag)

    p = sub.add_parser("export-reviews", help="write human spot-check answers as JSONL (per reviewer, filtered)")
    p.add_argument("--reviewer", default=None)
    p.add_argument("--history", action="store_true",
                   help="every answer, earlier ones included (current: true marks each reviewer's latest)")
    p.add_argument("--source", default=None)
    p.add_argument("--slot", default=None, help="A1..A15")
    p.add_argument("-o", "--out", type=Path, default=None, help="file to write (default: stdout)")
    p.set_defaults(func=cmd_export_reviews)
    _register_mask(sub)


def _register_mask(sub: argparse._SubParsersAction) -> None:
    """Add `mask list|export|import|activate|from-rules`."""
    mask = sub.add_parser("mask", help="reliability masks: list, export, import, activate, from-rules")
    msub = mask.add_subparsers(dest="mask_command", required=True)
    p = msub.add_parser("list", help="list mask versions (the active one is marked *)")
    p.set_defaults(func=cmd_mask_list)
    p = msub.add_parser("export", help="write a mask version as JSON {source: {slot: {masked, reason}}}")
    p.add_argument("--version", type=int, default=None, help="version id (default: the active one)")
    p.add_argument("-o", "--out", type=Path, default=None, help="file to write (default: stdout)")
    p.set_defaults(func=cmd_mask_export)
    p = msub.add_parser("import", help="save a mask JSON file as a new named version (source '*' = all)")
    p.add_argument("path", type=Path)
    p.add_argument("--name", required=True)
    p.add_argument("--no-activate", action="store_true", help="save without making it the active mask")
    p.set_defaults(func=cmd_mask_import)
    p = msub.add_parser("activate", help="make a mask version the active one")
    p.add_argument("version", type=int)
    p.set_defaults(func=cmd_mask_activate)
    p = msub.add_parser("from-rules", help="compute a mask from thresholds over student-teacher agreement and save it")
    p.add_argument("--name", required=True)
    p.add_argument("--teacher", required=True)
    p.add_argument("--student", default=None, help="student judge (default: latest score of any)")
    p.add_argument("--max-mae", type=float, default=2.0)
    p.add_argument("--min-rho", type=float, default=0.3)
    p.add_argument("--min-n", type=int, default=30)
    p.add_argument("--no-activate", action="store_true")
    p.set_defaults(func=cmd_mask_from_rules)


def _print_summary(summary: TeacherImportSummary, shown: int) -> int:
    for line, reason in summary.rejections[:shown]:
        print(f"line {line}: {reason}", file=sys.stderr)
    if len(summary.rejections) > shown:
        print(f"... and {len(summary.rejections) - shown} more rejections", file=sys.stderr)
    print(f"teacher labels: {summary.lines} lines, stored {summary.stored} (partial {summary.partial}), "
          f"rejected {len(summary.rejections)}")
    return 1 if summary.rejections else 0


def cmd_import_teacher(args: argparse.Namespace) -> int:
    """Import a teacher-label file; exit 1 when some lines were rejected (the rest are stored)."""
    if not args.path.is_file():
        print(f"error: {args.path}: no such file", file=sys.stderr)
        return 1
    summary = import_teacher_file(open_engine(args.settings), args.path, teacher=args.teacher, actor=args.actor,
                                  max_bytes=args.settings.max_record_bytes)
    return _print_summary(summary, args.max_rejections_shown)


def cmd_demo_teacher(args: argparse.Namespace) -> int:
    """Label the stored student-scored records with the SIMULATED demo teacher (idempotent)."""
    summary = label_demo_corpus(open_engine(args.settings), seed=args.seed, coverage=args.coverage, teacher=args.teacher,
                                actor=args.actor)
    return _print_summary(summary, 20)


def cmd_tag(args: argparse.Namespace) -> int:
    """Bulk tag (or untag) all matches of a filter in one transaction."""
    try:
        f = RecordFilter.model_validate_json(args.filter)
    except ValidationError as exc:
        print(f"error: --filter: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 1
    with write_tx(open_engine(args.settings)) as conn:
        n = tag_all_matches(conn, f, tag=args.tag, remove=args.remove, actor=args.actor)
    print(f"{'removed from' if args.remove else 'added to'} {n} records")
    return 0


def cmd_export_reviews(args: argparse.Namespace) -> int:
    """Stream spot-check answers as JSON lines, one per reviewer and item, with the judges' snapshot scores."""
    out = args.out.open("w", encoding="utf-8") if args.out else sys.stdout
    n = 0
    try:
        with read_conn(open_engine(args.settings)) as conn:
            for row in spot_checks_repo.iter_reviews(conn, reviewer=args.reviewer, source=args.source,
                                                     slot=args.slot, history=args.history):
                row["reviewed_at"] = row["reviewed_at"].isoformat() if row["reviewed_at"] else None
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                n += 1
    finally:
        if args.out:
            out.close()
    print(f"{n} reviews exported" + (f" to {args.out}" if args.out else ""), file=sys.stderr)
    return 0


def cmd_mask_list(args: argparse.Namespace) -> int:
    """Print mask versions, newest first."""
    with read_conn(open_engine(args.settings)) as conn:
        df = repo.list_mask_versions(conn)
    if df.empty:
        print("no mask versions yet: save one on the Reliability page or with `mira-curator mask import`")
    for row in df.itertuples():
        mark = "*" if row.active else " "
        print(f"{mark} {row.version_id}\t{row.name}\t{row.masked} masked\t{row.created_by}\t"
              f"{row.created_at:%Y-%m-%d %H:%M} UTC")
    return 0


def cmd_mask_export(args: argparse.Namespace) -> int:
    """Write a mask version as JSON."""
    with read_conn(open_engine(args.settings)) as conn:
        version = args.version if args.version is not None else repo.active_mask_version(conn)
        if version is None:
            print("error: no active mask version: pass --version (see `mira-curator mask list`)", file=sys.stderr)
            return 1
        text = mask_to_json(mask_store.load_mask(conn, version))
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"mask version {version} written to {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_mask_import(args: argparse.Namespace) -> int:
    """Validate a mask JSON file and save it as a new version."""
    mask = mask_from_json(args.path.read_text(encoding="utf-8"), where=str(args.path))
    with write_tx(open_engine(args.settings)) as conn:
        version = mask_store.save_mask_version(conn, name=args.name, mask=mask, rules=None,
                                               actor=args.actor, note=f"imported from {args.path.name}",
                                               activate=not args.no_activate)
    state = "saved" if args.no_activate else "saved and activated"
    print(f"mask version {version} ({args.name}): {len(mask.masked_cells())} masked cells, {state}")
    return 0


def cmd_mask_activate(args: argparse.Namespace) -> int:
    """Make one version active."""
    with write_tx(open_engine(args.settings)) as conn:
        mask_store.activate_mask_version(conn, args.version, actor=args.actor)
    print(f"mask version {args.version} is now active")
    return 0


def cmd_mask_from_rules(args: argparse.Namespace) -> int:
    """Compute the reliability matrix, apply the thresholds, save the mask."""
    rules = MaskRules(max_mae=args.max_mae, min_rho=args.min_rho, min_n=args.min_n)
    engine = open_engine(args.settings)
    with read_conn(engine) as conn:
        pairs = repo.load_score_pairs(conn, student_judge=args.student, teacher=args.teacher)
    matrix = reliability_matrix(pairs.student, pairs.teacher, pairs.sources, rules.min_n, intervals=False)
    mask = build_mask(matrix, rules)
    with write_tx(engine) as conn:
        version = mask_store.save_mask_version(conn, name=args.name, mask=mask, rules=rules,
                                               actor=args.actor, activate=not args.no_activate)
    print(f"mask version {version} ({args.name}): {len(mask.masked_cells())} of "
          f"{int((matrix.source != 'all sources').sum())} cells masked")
    return 0
