"""Who may come in and with what role; only an admin changes that, and the last admin cannot be removed.

The command line is the operator's tool on the server: it acts as admin, under the name given with
`--as EMAIL` or the local user's, and is recorded as such (`via="cli"`). That is how the first admin is
created: `mira-curator users add EMAIL --role admin`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from mira_core.errors import ConflictError, MiraError, NotFoundError
from mira_core.identity import Actor, Role, normalize_user_id, require
from mira_core.storage import Connection, users_repo
from mira_core.team.activity import record_change


class Person(BaseModel):
    """One allowed person as `users list` and the admin page show them."""

    model_config = ConfigDict(frozen=True)

    user_id: str = Field(description="Email (lower case) or the provider's sub.")
    role: Role
    added_by: str
    updated_by: str


def cli_operator(name: str) -> Actor:
    """The operator at the command line, acting as admin under `name` (`--as` or the local user)."""
    return Actor(user_id=normalize_user_id(name), role=Role.admin, via="cli")


def resolve_person(conn: Connection, user_id: str) -> Actor | None:
    """The signed-in person as an Actor with their stored role, or None when they are not on the list."""
    row = users_repo.get_user(conn, normalize_user_id(user_id))
    return None if row is None else Actor(user_id=row.user_id, role=Role(row.role), via="web")


def list_people(conn: Connection, actor: Actor) -> list[Person]:
    """Everyone allowed in, admins first (any role may read it)."""
    require(actor, Role.viewer, "listing users")
    return [Person(user_id=r.user_id, role=Role(r.role), added_by=r.added_by, updated_by=r.updated_by)
            for r in users_repo.list_users(conn)]


def add_user(conn: Connection, actor: Actor, user_id: str, role: Role) -> bool:
    """Allow a person in with `role`; False when they are already there with that role (safe to repeat)."""
    require(actor, Role.admin, "adding users")
    uid = normalize_user_id(user_id)
    if not uid:
        raise MiraError("a user needs an email or a provider id")
    existing = users_repo.get_user(conn, uid)
    if existing is not None:
        if existing.role == role.value:
            return False
        raise ConflictError(f"{uid} is already a {existing.role}: use `mira-curator users set-role {uid} {role}`")
    users_repo.insert_user(conn, uid, role.value, actor.label)
    record_change(conn, actor, "user.add", target_kind="user", target_id=uid, role=role.value)
    return True


def set_role(conn: Connection, actor: Actor, user_id: str, role: Role) -> None:
    """Change a person's role; the last admin cannot be demoted (someone must be able to manage users)."""
    require(actor, Role.admin, "changing roles")
    uid = normalize_user_id(user_id)
    existing = users_repo.get_user(conn, uid)
    if existing is None:
        raise NotFoundError(f"{uid} is not a user: add them with `mira-curator users add {uid} --role {role}`")
    if existing.role == Role.admin.value and role != Role.admin and users_repo.count_admins(conn) == 1:
        raise ConflictError(f"{uid} is the last admin: make someone else admin first")
    users_repo.update_role(conn, uid, role.value, actor.label)
    record_change(conn, actor, "user.set_role", target_kind="user", target_id=uid, old=existing.role,
                  new=role.value)


def remove_user(conn: Connection, actor: Actor, user_id: str) -> None:
    """Remove a person (their past changes keep their name); the last admin cannot be removed."""
    require(actor, Role.admin, "removing users")
    uid = normalize_user_id(user_id)
    existing = users_repo.get_user(conn, uid)
    if existing is None:
        raise NotFoundError(f"{uid} is not a user (`mira-curator users list` shows who is)")
    if existing.role == Role.admin.value and users_repo.count_admins(conn) == 1:
        raise ConflictError(f"{uid} is the last admin: make someone else admin first")
    users_repo.delete_user(conn, uid)
    record_change(conn, actor, "user.remove", target_kind="user", target_id=uid, role=existing.role)
