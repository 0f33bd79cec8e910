"""The session gate: local mode unchanged, sign-in page for strangers, the stored role for people on the list."""

import pytest

from mira_core.identity import Actor, Role
from mira_core.storage import read_conn, write_tx
from mira_core.team import add_user, cli_operator
from mira_core.views.session import Screen, person_id, session_gate, sign_in_configured

LOCAL = Actor(user_id="me", role=Role.admin)


def test_no_auth_table_is_local_mode_as_the_local_admin():
    gate = session_gate(None, configured=False, claims=None, local_actor=LOCAL)
    assert gate.screen is Screen.local and gate.actor == LOCAL


@pytest.mark.parametrize(("table", "configured"), [
    (None, False), ({}, False), ("x", False), ({"redirect_uri": "http://localhost:8501/oauth2callback"}, True),
])
def test_any_auth_table_gates_the_app(table, configured):
    assert sign_in_configured(table) is configured


def test_nobody_signed_in_gets_only_the_sign_in_screen():
    gate = session_gate(None, configured=True, claims=None, local_actor=LOCAL)
    assert gate.screen is Screen.sign_in and gate.actor is None and gate.person_id is None


@pytest.mark.parametrize(("claims", "expected"), [
    ({"email": "Ann@Example.org", "sub": "42"}, "ann@example.org"),
    ({"email": "ann@example.org", "email_verified": True, "sub": "42"}, "ann@example.org"),
    ({"email": "ann@example.org", "email_verified": False, "sub": "42"}, "42"),  # never trust an unverified email
    ({"sub": " 42 "}, "42"),
    ({"email": "", "sub": "42"}, "42"),
    ({}, None),
    ({"sub": "x" * 101}, None),
])
def test_person_id_is_the_verified_email_else_the_sub(claims, expected):
    assert person_id(claims) == expected


@pytest.mark.parametrize("role", list(Role))
def test_a_person_on_the_list_acts_with_their_stored_role(engine, role):
    with write_tx(engine) as conn:
        add_user(conn, cli_operator("ops"), "ann@example.org", role)
    with read_conn(engine) as conn:
        gate = session_gate(conn, configured=True, claims={"email": "ANN@example.org", "sub": "1"}, local_actor=LOCAL)
    assert gate.screen is Screen.app
    assert gate.actor == Actor(user_id="ann@example.org", role=role, via="web")


def test_a_person_not_on_the_list_is_asked_to_see_an_admin_with_their_id(engine):
    with read_conn(engine) as conn:
        gate = session_gate(conn, configured=True, claims={"sub": "abc-123"}, local_actor=LOCAL)
        no_id = session_gate(conn, configured=True, claims={}, local_actor=LOCAL)
    assert (gate.screen, gate.person_id, gate.actor) == (Screen.ask_admin, "abc-123", None)
    assert (no_id.screen, no_id.person_id) == (Screen.ask_admin, None)
