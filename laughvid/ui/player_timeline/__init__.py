"""The player-timeline: one Streamlit component (components v2) holding the video, the laugh
curves and the segment bands on one clock, the keys, and the selected segment's actions.

Its HTML, CSS and JS are the files beside this module, read once and handed to Streamlit inline
(nothing is fetched at run time, no CDN, no build step). What it gets each rerun is
`laughvid.ui.timeline_payload`; what it sends back is an `edit` trigger (a dict parsed by
`actions.TimelineEdit`). Playback, seeking, zoom, selection and looping stay in the browser and
survive reruns there (see player.js), so they need no round trip.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

_HERE = Path(__file__).parent
_component = st.components.v2.component(
    "laughvid.player_timeline",
    html=(_HERE / "player.html").read_text(encoding="utf-8"),
    css=(_HERE / "player.css").read_text(encoding="utf-8"),
    js=(_HERE / "player.js").read_text(encoding="utf-8"),
)


def player_timeline(key: str, data: dict[str, Any], on_edit: Callable[[], None]) -> None:
    """Mount the component; `on_edit` runs (before the page is drawn again) when it sends an edit,
    which it then finds in `st.session_state[key]["edit"]`."""
    _component(key=key, data=data, on_edit_change=on_edit)
