"""Selection commands: export a saved policy's keep list, list/show/diff/import/delete policies."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import Engine

from mira_core.dimensions import cluster_weights
from mira_core.errors import ConfigError
from mira_core.selection import store
from mira_core.selection.diff import diff_policies
from mira_core.selection.export import FORMATS, export_policy
from mira_core.selection.policies import Policy
from mira_core.settings import Settings
from mira_core.storage import migrate
from mira_core.storage.engine import make_engine, read_conn, write_tx


def _engine(settings: Settings) -> Engine:
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    return engine


def register(sub: argparse._SubParsersAction) -> None:
    """Add `export` and `policy`."""
    p = sub.add_parser("export", help="write a saved policy's keep list and its manifest to the export folder")
    p.add_argument("--policy", required=True, help="name of a saved policy (`mira-curator policy list`)")
    p.add_argument("--format", dest="fmt", choices=FORMATS, default="jsonl")
    p.add_argument("--out", type=Path, default=None,
                   help="list file inside the export folder (MIRA_EXPORT_DIR); default keep-<policy>.<format>")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("policy", help="saved selection policies: list, show, diff, import, delete")
    psub = p.add_subparsers(dest="policy_command", required=True)
    q = psub.add_parser("list", help="saved policies, one per line")
    q.set_defaults(func=cmd_policy_list)
    q = psub.add_parser("show", help="a policy as JSON")
    q.add_argument("name")
    q.set_defaults(func=cmd_policy_show)
    q = psub.add_parser("diff", help="records entering and leaving from policy A to policy B, per source")
    q.add_argument("a")
    q.add_argument("b")
    q.add_argument("--json", action="store_true", help="machine-readable output")
    q.set_defaults(func=cmd_policy_diff)
    q = psub.add_parser("import", help="save a policy from a JSON file (as `policy show` prints it); a policy naming no masked cells takes those of its mask_version, else of the active mask")
    q.add_argument("path", type=Path)
    q.add_argument("--replace", action="store_true", help="overwrite a policy of the same name")
    q.set_defaults(func=cmd_policy_import)
    q = psub.add_parser("delete", help="remove a saved policy")
    q.add_argument("name")
    q.set_defaults(func=cmd_policy_delete)


def cmd_export(args: argparse.Namespace) -> int:
    """Export a policy's keep list (atomic; refuses paths outside the export folder)."""
    engine = _engine(args.settings)
    with read_conn(engine) as conn:
        policy = store.get_policy(conn, args.policy)
    res = export_policy(engine, policy, args.fmt, args.settings, args.out, actor=args.actor)
    print(f"{res.rows} records -> {res.list_path}\nmanifest -> {res.manifest_path}\nsha256 {res.sha256}")
    return 0


def cmd_policy_list(args: argparse.Namespace) -> int:
    """Name, mode, criterion and save time of each policy."""
    with read_conn(_engine(args.settings)) as conn:
        for p in store.list_policies(conn):
            mode = "global" if p.global_cut else "per_source"
            when = p.updated_at.isoformat() if p.updated_at else ""
            print(f"{p.name}\t{mode}\t{p.criterion}\t{when}\t{p.created_by}")
    return 0


def cmd_policy_show(args: argparse.Namespace) -> int:
    """Print one policy as JSON."""
    with read_conn(_engine(args.settings)) as conn:
        print(store.get_policy(conn, args.name).model_dump_json(indent=2))
    return 0


def cmd_policy_diff(args: argparse.Namespace) -> int:
    """Per source: records and tokens entering and leaving."""
    diffs = diff_policies(_engine(args.settings), args.a, args.b, cluster_weights(args.settings.anchors_path))
    if args.json:
        for d in diffs:
            print(json.dumps(d.__dict__, sort_keys=True))
        return 0
    print(f"{args.a} -> {args.b}")
    for d in diffs:
        print(f"{d.source}: +{d.entering} records (+{d.entering_tokens} tokens), "
              f"-{d.leaving} records (-{d.leaving_tokens} tokens), {d.staying} stay")
    return 0


def cmd_policy_import(args: argparse.Namespace) -> int:
    """Validate and save a policy from JSON (a new one is stored as created by the operator, not the file's author)."""
    try:
        policy = Policy.model_validate_json(args.path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{args.path}: cannot read ({exc.strerror})") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(x) for x in first["loc"]) or "(top level)"
        raise ConfigError(f"{args.path}: at {loc}: {first['msg']}") from exc
    with write_tx(_engine(args.settings)) as conn:
        filled = store.fill_mask(conn, policy)
        saved = store.save_policy(conn, filled.policy, actor=args.actor, replace=args.replace)
    if filled.message:
        print(filled.message)
    print(f"saved policy {saved.name} (mask version {saved.mask_version or 'none'})")
    return 0


def cmd_policy_delete(args: argparse.Namespace) -> int:
    """Delete a policy by name."""
    with write_tx(_engine(args.settings)) as conn:
        if not store.delete_policy(conn, args.name, actor=args.actor):
            print(f"no policy named {args.name!r}")
            return 1
    print(f"deleted policy {args.name}")
    return 0
