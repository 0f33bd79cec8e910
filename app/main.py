"""Streamlit entrypoint: navigation only; every page lives in app/screens/."""

import streamlit as st

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

st.navigation(PAGES).run()
