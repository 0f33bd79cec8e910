"""The sign-in gate's screens: the sign-in page, "ask an admin to add you", and who is signed in.

None of them reads the corpus: a session that is not signed in as someone on the users list sees only
these (the entrypoint decides which, with `ui.db.session_gate`).
"""

from __future__ import annotations

import streamlit as st

from mira_core.views.escape import escape_markdown
from mira_core.views.session import Screen, SessionGate


def sign_in_page() -> None:
    """Only a title and the button that starts the provider's sign-in."""
    st.title("MIRA Curator")
    st.write("Sign in to continue.")
    if st.button("Sign in", type="primary", key="session_sign_in"):
        st.login()


def ask_admin_page(gate: SessionGate) -> None:
    """Signed in, but not on the users list: their id (for the admin to add) and a way out."""
    st.title("MIRA Curator")
    if gate.person_id is None:
        st.warning("Your sign-in provider gave neither an email nor an id: ask an admin to check the provider.")
    else:
        st.warning(f"You are signed in but not on the users list: ask an admin to add you "
                   f"(your id: {escape_markdown(gate.person_id)}).")
        st.caption("An admin runs:")
        st.code(f"mira-curator users add {gate.person_id} --role viewer", language=None)
    if st.button("Sign out", key="session_sign_out_waiting"):
        st.logout()


def signed_in_sidebar(gate: SessionGate) -> None:
    """The signed-in person's id and role, and the sign-out button (nothing in local mode)."""
    if gate.screen is not Screen.app or gate.actor is None:
        return
    with st.sidebar:
        st.caption(f"Signed in as **{escape_markdown(gate.actor.user_id)}** · {gate.actor.role.value}")
        if st.button("Sign out", key="session_sign_out"):
            st.logout()
