"""The Streamlit review app (`streamlit_app.py` serves `app.main()` plus `video_route`): app.py draws
the page from one module per panel (sidebar, player, review_panel, people_panel, export_panel), with
selection and messages as their shared state; player_timeline/ is the one component (HTML/CSS/JS)
holding the video, the timeline and the keys. actions.py is the app's only door into the library;
it, uploads, timeline_payload and text import no Streamlit, so they are tested without a browser."""
