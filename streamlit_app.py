"""laughvid review app: upload -> analyse -> scrub the laugh timeline -> review segments -> export.

    make run        # or, from this folder: streamlit run streamlit_app.py

Both serve http://127.0.0.1:8501 only (.streamlit/config.toml): the app has no authentication, so
read README.md "Exposing the review UI" before opening it to a network. The page and its panels
live in laughvid/ui/ (app.py); they reach the library only through laughvid/ui/actions.py.
"""

from laughvid.ui.app import main

main()
