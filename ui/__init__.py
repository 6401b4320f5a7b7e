"""Streamlit glue: cached wrappers, session state, chart and table builders, translations."""
