"""Users and roles: only an admin manages people, the last admin stays, every change lands in the log."""

import pytest

from mira_core.errors import ConflictError, MiraError, NotFoundError
from mira_core.identity import Actor, PermissionDenied, Role, require
from mira_core.storage import read_conn, write_tx
from mira_core.team import (
    add_user,
    cli_operator,
    list_changes,
    list_people,
    remove_user,
    resolve_person,
    set_role,
)

OPS = cli_operator("ops")


def _as(role: Role, who: str = "someone@example.org") -> Actor:
    return Actor(user_id=who, role=role)


def test_the_operator_adds_the_first_admin_and_repeating_it_changes_nothing(engine):
    with write_tx(engine) as conn:
        assert add_user(conn, OPS, "  Ann@Example.ORG ", Role.admin) is True
        assert add_user(conn, OPS, "ann@example.org", Role.admin) is False  # idempotent
        with pytest.raises(ConflictError, match="already a admin: use `mira-curator users set-role"):
            add_user(conn, OPS, "ann@example.org", Role.viewer)
    with read_conn(engine) as conn:
        ann = resolve_person(conn, "ANN@example.org")
        assert ann == Actor(user_id="ann@example.org", role=Role.admin, via="web")
        assert resolve_person(conn, "stranger@example.org") is None
        people = list_people(conn, ann)
        changes = list_changes(conn)
    assert [(p.user_id, p.role, p.added_by) for p in people] == [("ann@example.org", Role.admin, "ops (cli)")]
    assert [(c.actor, c.via, c.kind, c.target_id, c.detail) for c in changes] == [
        ("ops", "cli", "user.add", "ann@example.org", {"role": "admin"})]


@pytest.mark.parametrize("role", [Role.viewer, Role.curator])
def test_only_an_admin_manages_people(engine, role):
    with write_tx(engine) as conn:
        add_user(conn, OPS, "bob@example.org", Role.viewer)
    who = _as(role)
    with write_tx(engine) as conn:
        with pytest.raises(PermissionDenied, match=f"adding users needs the admin role; someone@example.org is a {role}"):
            add_user(conn, who, "eve@example.org", Role.admin)
        with pytest.raises(PermissionDenied, match="changing roles needs the admin role"):
            set_role(conn, who, "bob@example.org", Role.admin)
        with pytest.raises(PermissionDenied, match="removing users needs the admin role"):
            remove_user(conn, who, "bob@example.org")
        assert [p.user_id for p in list_people(conn, who)] == ["bob@example.org"]  # reading is allowed
    with read_conn(engine) as conn:
        assert resolve_person(conn, "eve@example.org") is None
        assert [c.kind for c in list_changes(conn)] == ["user.add"]  # refused changes leave no trace


def test_the_last_admin_cannot_be_demoted_or_removed(engine):
    admin = _as(Role.admin, "ann@example.org")
    with write_tx(engine) as conn:
        add_user(conn, OPS, "ann@example.org", Role.admin)
        with pytest.raises(ConflictError, match="last admin"):
            set_role(conn, admin, "ann@example.org", Role.curator)
        with pytest.raises(ConflictError, match="last admin"):
            remove_user(conn, admin, "ann@example.org")
        add_user(conn, admin, "cy@example.org", Role.admin)
        set_role(conn, admin, "ann@example.org", Role.curator)
        with pytest.raises(NotFoundError, match="not a user"):
            remove_user(conn, admin, "nobody@example.org")
        remove_user(conn, _as(Role.admin, "cy@example.org"), "ann@example.org")
    with read_conn(engine) as conn:
        assert [p.user_id for p in list_people(conn, OPS)] == ["cy@example.org"]
        log = list_changes(conn)
        assert [c.kind for c in log] == ["user.remove", "user.set_role", "user.add", "user.add"]
        assert log[1].detail == {"old": "admin", "new": "curator"} and log[0].actor == "cy@example.org"
        assert [c.kind for c in list_changes(conn, actors=["ann@example.org"])] == ["user.set_role", "user.add"]
        assert len(list_changes(conn, limit=2)) == 2
        assert [c.kind for c in list_changes(conn, before_id=log[1].activity_id)] == ["user.add", "user.add"]


def test_roles_include_the_ones_below():
    require(_as(Role.admin), Role.curator, "tagging")
    require(_as(Role.curator), Role.viewer, "reading")
    with pytest.raises(PermissionDenied, match="tagging needs the curator role"):
        require(_as(Role.viewer), Role.curator, "tagging")
    assert OPS.role is Role.admin and OPS.label == "ops (cli)"


def test_an_id_too_long_to_store_beside_changes_is_refused_with_a_message(engine):
    long_id = "x" * 95 + "@example.org"
    with write_tx(engine) as conn, pytest.raises(MiraError, match="at most 100 are kept"):
        add_user(conn, OPS, long_id, Role.curator)
    with pytest.raises(MiraError, match="at most 100"):
        cli_operator(long_id)
