"""The pages' database handle: one engine per database URL per server process, migrated once."""

from __future__ import annotations

import streamlit as st

from mira_core.dimensions import Dimension
from mira_core.dimensions import dimension_names as _dimension_names
from mira_core.identity import Actor, PermissionDenied, Role
from mira_core.settings import Settings, load_settings
from mira_core.storage import Engine, open_store, read_conn
from mira_core.views import browse as browse_view
from mira_core.views import session as session_view


@st.cache_resource(show_spinner=False)
def _engine(url: str) -> Engine:
    return open_store(url)  # a fresh database works without running `mira-curator migrate` first


def settings() -> Settings:
    """The settings for this script run, from the environment (the page is the edge that creates them)."""
    return load_settings()


def local_actor() -> Actor:
    """Local single-user mode (no sign-in configured): the local user (`MIRA_CURATOR`, else `$USER`) as admin."""
    return Actor(user_id=settings().curator, role=Role.admin, via="web")


def session_gate() -> session_view.SessionGate:
    """Which screen this session gets, from `[auth]` in the secrets and the signed-in person's claims.

    Looked up on every call (one indexed read when someone is signed in), so a role change or a removal
    takes effect on the person's next rerun.
    """
    table = st.secrets.get("auth") if st.secrets.load_if_toml_exists() else None
    configured = session_view.sign_in_configured(table)
    claims = dict(st.user.to_dict()) if configured and st.user.is_logged_in else None
    if claims is None:
        return session_view.session_gate(None, configured=configured, claims=None, local_actor=local_actor())
    with read_conn(engine()) as conn:
        return session_view.session_gate(conn, configured=True, claims=claims, local_actor=local_actor())


def current_actor() -> Actor:
    """Who is acting in this session.

    The signed-in person with their stored role when sign-in is configured, else the local user as admin
    (local single-user mode, as before teams).

    Raises PermissionDenied when sign-in is configured and nobody on the users list is signed in (the
    entrypoint shows no page then, so this only guards a mistake).
    """
    gate = session_gate()
    if gate.actor is None:
        raise PermissionDenied("sign in first: this server needs a signed-in person on the users list")
    return gate.actor


def engine() -> Engine:
    """The engine for `MIRA_DATABASE_URL` (cached; keyed by URL so tests with their own DB get their own)."""
    return _engine(settings().database_url)


def dimension_names() -> dict[str, Dimension]:
    """{slot: Dimension} from the anchors file in the settings (bare slot ids if the file is unreadable)."""
    return _dimension_names(settings().anchors_path)


@st.cache_data(ttl=30, show_spinner=False, max_entries=8)
def filter_options(url: str) -> dict[str, list[str]]:
    """Distinct values for the Browse filters (a few small index scans; refreshed every 30 s)."""
    with read_conn(_engine(url)) as conn:
        return browse_view.filter_choices(conn)


@st.cache_data(ttl=30, show_spinner=False, max_entries=8)
def token_bounds(url: str) -> tuple[int, int]:
    """Smallest and largest token estimate in the store (for the token-range slider)."""
    with read_conn(_engine(url)) as conn:
        return browse_view.token_bounds(conn)


@st.cache_data(ttl=30, show_spinner=False, max_entries=8)
def store_has_synthetic(url: str) -> bool:
    """Whether any record in the store is synthetic.

    Cached: without an index the check scans the table (~60 ms at 232K rows) when the answer is no, which is
    the usual case for real corpora.
    """
    with read_conn(_engine(url)) as conn:
        return browse_view.store_has_synthetic(conn)
