"""Which screen a browser session gets: the app, the sign-in page, or "ask an admin to add you".

The decision is here, not in the page, so it is tested without a browser: with no `[auth]` table the app
runs in local single-user mode as before; with one, nothing of the corpus is shown until the signed-in
person is found on the users list, and then they act with their stored role.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mira_core.errors import MiraError
from mira_core.identity import Actor, normalize_user_id
from mira_core.storage import Connection
from mira_core.team import resolve_person


class Screen(StrEnum):
    """What the session is shown."""

    local = "local"
    """No sign-in configured: the whole app, as the local user with the admin role."""
    sign_in = "sign_in"
    """Sign-in configured and nobody signed in: only the sign-in page."""
    ask_admin = "ask_admin"
    """Signed in but not on the users list (or no usable id): their id and a sign-out button."""
    app = "app"
    """Signed in and on the list: the whole app, as that person with their stored role."""


class SessionGate(BaseModel):
    """The screen for this session, and who acts in it when it is the app."""

    model_config = ConfigDict(frozen=True)

    screen: Screen
    person_id: str | None = Field(default=None, description="The signed-in person's id (email or sub), if any.")
    actor: Actor | None = Field(default=None, description="Set for Screen.app only.")


def sign_in_configured(auth_table: object) -> bool:
    """Whether the secrets hold an `[auth]` table: then every session must sign in (fails closed).

    An incomplete table still gates the app; Streamlit's `st.login` then says which key is missing.
    """
    return isinstance(auth_table, Mapping) and len(auth_table) > 0


def person_id(claims: Mapping[str, Any]) -> str | None:
    """The id a signed-in person is known by: their email unless the provider says it is unverified, else `sub`.

    A provider that omits `email_verified` is trusted for its emails (Azure AD does); `false` is not.
    Returns None when the claims carry neither, or an id too long to store.
    """
    email = claims.get("email")
    if isinstance(email, str) and email.strip() and claims.get("email_verified") is not False:
        raw = email
    else:
        sub = claims.get("sub")
        raw = sub if isinstance(sub, str) else ""
    try:
        uid = normalize_user_id(raw)
    except MiraError:
        return None
    return uid or None


def session_gate(conn: Connection | None, *, configured: bool, claims: Mapping[str, Any] | None,
                 local_actor: Actor) -> SessionGate:
    """Decide the screen: `claims` are the signed-in person's (None when nobody is signed in).

    `conn` is only read when someone is signed in (it may be None otherwise).
    """
    if not configured:
        return SessionGate(screen=Screen.local, actor=local_actor)
    if claims is None:
        return SessionGate(screen=Screen.sign_in)
    uid = person_id(claims)
    if uid is None:
        return SessionGate(screen=Screen.ask_admin)
    if conn is None:
        raise ValueError("a signed-in session needs a connection to look the person up")
    actor = resolve_person(conn, uid)
    if actor is None:
        return SessionGate(screen=Screen.ask_admin, person_id=uid)
    return SessionGate(screen=Screen.app, person_id=uid, actor=actor)
