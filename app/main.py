"""Streamlit entrypoint: navigation only; every page lives in app/pages/."""

import streamlit as st

st.set_page_config(page_title="MIRA Curator", layout="wide")

PAGES = [
    st.Page("pages/browse.py", title="Browse", icon=":material/table_rows:", default=True),
    st.Page("pages/record.py", title="Record", icon=":material/article:", url_path="record"),
    st.Page("pages/retention.py", title="Retention", icon=":material/tune:", url_path="retention"),
    st.Page("pages/reliability.py", title="Reliability", icon=":material/grid_on:", url_path="reliability"),
    st.Page("pages/spot_check.py", title="Spot-check", icon=":material/fact_check:", url_path="spot_check"),
    st.Page("pages/scoring.py", title="Scoring", icon=":material/speed:", url_path="scoring"),
]

st.navigation(PAGES).run()
