"""Rendering helpers shared by the pages (Streamlit only; all decisions live in mira_core.views)."""
