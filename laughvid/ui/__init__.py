"""The Streamlit review app (`streamlit_app.py` calls `app.main()`): app.py draws the page from one
module per panel (sidebar, player, review_panel, people_panel, export_panel), with selection and
messages as their shared state. actions.py is the app's only door into the library; it, uploads,
charts and text import no Streamlit, so they are tested without a browser."""
