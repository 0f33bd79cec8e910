"""The pages' database handle: one engine per database URL per server process, migrated once."""

from __future__ import annotations

import streamlit as st

from mira_core.dimensions import Dimension
from mira_core.dimensions import dimension_names as _dimension_names
from mira_core.identity import Actor, Role
from mira_core.settings import Settings, load_settings
from mira_core.storage import Engine, open_store, read_conn
from mira_core.views import browse as browse_view


@st.cache_resource(show_spinner=False)
def _engine(url: str) -> Engine:
    return open_store(url)  # a fresh database works without running `mira-curator migrate` first


def settings() -> Settings:
    """The settings for this script run, from the environment (the page is the edge that creates them)."""
    return load_settings()


def current_actor() -> Actor:
    """Who is acting in this session.

    Local single-user mode (no sign-in configured): the local user (`MIRA_CURATOR`, else `$USER`) as admin,
    as before teams; sign-in replaces this with the signed-in person and their stored role.
    """
    return Actor(user_id=settings().curator, role=Role.admin, via="web")


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
