"""laughvid review app: upload -> analyse -> scrub the laugh timeline -> review segments -> export.

    make run        # or, from this folder: streamlit run streamlit_app.py

Both serve http://127.0.0.1:8501 only (.streamlit/config.toml): the app has no authentication, so
read README.md "Exposing the review UI" before opening it to a network. The page and its panels
live in laughvid/ui/ (app.py); they reach the library only through laughvid/ui/actions.py.

`app` is what `streamlit run` serves: the page (this file, run per session) plus the route that
streams the player's video from disk with range requests (laughvid/ui/video_route.py), and the one
that serves its curves once per analysis and tuning (laughvid/ui/series_route.py). The page
itself runs only inside a session (Streamlit's script context), not when the server imports `app`.
"""

import streamlit as st
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from laughvid.ui import series_route, video_route
from laughvid.ui.app import main

app = st.App(__file__, routes=video_route.routes() + series_route.routes())

if get_script_run_ctx(suppress_warning=True) is not None:
    main()
