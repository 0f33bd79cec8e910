"""`mira-curator users ...` and `mira-curator activity`: who may use the app, and who changed what.

The command line is the operator's tool on the server: it acts as admin under `--as EMAIL` (default: the
local user) and every change it makes is recorded with `via=cli`.
"""

from __future__ import annotations

import argparse
import json

from mira_core.cli.store_cmds import open_engine
from mira_core.identity import Actor, Role
from mira_core.storage import read_conn, write_tx
from mira_core.team import add_user, list_changes, list_people, remove_user, set_role

ROLES = [r.value for r in Role]


def register(sub: argparse._SubParsersAction) -> None:
    """Add `users add|list|set-role|remove` and `activity`."""
    users = sub.add_parser("users", help="who may sign in, and their role (viewer, curator, admin)")
    usub = users.add_subparsers(dest="users_command", required=True)
    p = usub.add_parser("add", help="allow a person in (their sign-in email, or the provider's sub)")
    p.add_argument("user_id")
    p.add_argument("--role", choices=ROLES, required=True)
    p.set_defaults(func=cmd_users_add)
    p = usub.add_parser("list", help="everyone allowed in, admins first")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=cmd_users_list)
    p = usub.add_parser("set-role", help="change a person's role (the last admin cannot be demoted)")
    p.add_argument("user_id")
    p.add_argument("role", choices=ROLES)
    p.set_defaults(func=cmd_users_set_role)
    p = usub.add_parser("remove", help="remove a person (their past changes keep their name)")
    p.add_argument("user_id")
    p.set_defaults(func=cmd_users_remove)
    p = sub.add_parser("activity", help="changes newest first: who, when, what (filter by person, kind, record)")
    p.add_argument("--person", action="append", default=[], help="only this person's changes (repeatable)")
    p.add_argument("--kind", action="append", default=[], help="only this kind, e.g. user.add (repeatable)")
    p.add_argument("--record", default=None, help="only changes of this record")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=cmd_activity)


def _actor(args: argparse.Namespace) -> Actor:
    actor: Actor = args.actor
    return actor


def cmd_users_add(args: argparse.Namespace) -> int:
    """Add a person with a role (running it again with the same role changes nothing)."""
    with write_tx(open_engine(args.settings)) as conn:
        added = add_user(conn, _actor(args), args.user_id, Role(args.role))
    print(f"{args.user_id}: {'added as' if added else 'already a'} {args.role}")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    """List the people allowed in."""
    with read_conn(open_engine(args.settings)) as conn:
        people = list_people(conn, _actor(args))
    for p in people:
        print(p.model_dump_json() if args.json else f"{p.role.value:8} {p.user_id}  (added by {p.added_by})")
    if not people and not args.json:
        print("no users yet: add the first admin with `mira-curator users add EMAIL --role admin`")
    return 0


def cmd_users_set_role(args: argparse.Namespace) -> int:
    """Change a person's role."""
    with write_tx(open_engine(args.settings)) as conn:
        set_role(conn, _actor(args), args.user_id, Role(args.role))
    print(f"{args.user_id}: now {args.role}")
    return 0


def cmd_users_remove(args: argparse.Namespace) -> int:
    """Remove a person."""
    with write_tx(open_engine(args.settings)) as conn:
        remove_user(conn, _actor(args), args.user_id)
    print(f"{args.user_id}: removed")
    return 0


def cmd_activity(args: argparse.Namespace) -> int:
    """Print changes newest first."""
    with read_conn(open_engine(args.settings)) as conn:
        changes = list_changes(conn, actors=args.person, kinds=args.kind, record_id=args.record, limit=args.limit)
    for c in changes:
        if args.json:
            print(c.model_dump_json())
        else:
            target = f"{c.target_kind} {c.target_id}" if c.target_id else c.target_kind
            detail = json.dumps(c.detail, ensure_ascii=False, sort_keys=True)
            print(f"{c.at:%Y-%m-%d %H:%M:%S}  {c.actor} ({c.via})  {c.kind}  {target}  {detail}")
    return 0
