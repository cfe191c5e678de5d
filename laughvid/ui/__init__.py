"""Helpers for the Streamlit review app (`streamlit_app.py`): upload handling, library and first
run, charts, and the export actions the buttons call. No Streamlit imports here, so every piece is
testable without a browser and the app file stays a thin layer."""
