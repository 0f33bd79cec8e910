"""Streamlit entrypoint: the sign-in gate, then navigation; every page lives in app/screens/."""

import streamlit as st
from ui.db import session_gate
from ui.session import ask_admin_page, sign_in_page, signed_in_sidebar

from mira_core.views.session import Screen

st.set_page_config(page_title="MIRA Curator", layout="wide")

PAGES = [
    st.Page("screens/browse.py", title="Browse", icon=":material/table_rows:", default=True),
    st.Page("screens/record.py", title="Record", icon=":material/article:", url_path="record"),
    st.Page("screens/retention.py", title="Retention", icon=":material/tune:", url_path="retention"),
    st.Page("screens/reliability.py", title="Reliability", icon=":material/grid_on:", url_path="reliability"),
    st.Page("screens/spot_check.py", title="Spot-check", icon=":material/fact_check:", url_path="spot_check"),
    st.Page("screens/scoring.py", title="Scoring", icon=":material/speed:", url_path="scoring"),
    st.Page("screens/activity.py", title="Activity", icon=":material/history:", url_path="activity"),
]

gate = session_gate()
if gate.screen is Screen.sign_in:
    # One hidden page and nothing else: no other page's name, no count, no record reaches the browser.
    st.navigation([st.Page(sign_in_page, title="Sign in", url_path="sign_in")], position="hidden").run()
elif gate.screen is Screen.ask_admin:
    st.navigation([st.Page(lambda: ask_admin_page(gate), title="Ask an admin", url_path="ask_admin")],
                  position="hidden").run()
else:
    signed_in_sidebar(gate)
    st.navigation(PAGES).run()
