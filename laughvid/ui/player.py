"""The video on screen: its name and numbers, its file (found again when moved), the player, the
laugh timeline and a strip of thumbnails."""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

from laughvid.config import Settings
from laughvid.ui import actions, selection
from laughvid.ui.charts import SEGMENT_TRACE, timeline_figure
from laughvid.ui.messages import run_op
from laughvid.ui.text import literal

state = st.session_state


@st.cache_data(show_spinner=False, max_entries=8)
def thumbnails(path: str, rotation: int, times: tuple[float, ...]) -> list[tuple[float, np.ndarray]]:
    return list(actions.frames_at(path, rotation, times))


def draw(settings: Settings, view: actions.VideoView) -> None:
    """Header, file check, player beside the timeline, thumbnails."""
    record, items = view.record, view.items
    _header(settings, view)
    left, right = st.columns([2, 3])
    seek_start, seek_end = state.seek
    with left:
        if not view.problem:
            st.video(
                record.path,
                start_time=int(seek_start),
                end_time=math.ceil(seek_end) if seek_end else None,
                loop=seek_end is not None,
                subtitles={"laughs": actions.to_srt(items)} if items else None,  # the review state as captions while playing
            )
        st.caption(f"Playing from {seek_start:.2f} s" + (f" to {seek_end:.2f} s (loop)" if seek_end else ""))
    with right:
        figure = timeline_figure(
            view.result.series, view.result.tracks, items, view.result.smoothing.on_threshold, selection.selected_index(items), seek_start
        )
        st.plotly_chart(figure, key="timeline", on_select=selection.on_chart_click, selection_mode=("points",))
        st.caption(
            f"Click the timeline to play from that time; click a ▼ ({SEGMENT_TRACE}) or inside a band to review that segment. "
            "Drag to zoom, double-click to zoom out."
        )
    picks = actions.strip_times(view.result.cache.frame_times_s)
    if picks and not view.problem:
        for column, (t, frame) in zip(st.columns(len(picks)), thumbnails(record.path, record.info.rotation, picks), strict=False):
            column.image(frame, caption=f"{t:.1f} s", width="stretch")


def _header(settings: Settings, view: actions.VideoView) -> None:
    """The name as written (a file name is not Markdown), its numbers, and what is wrong with its file."""
    record = view.record
    st.header(literal(record.name))
    st.caption(
        f"{view.duration_s:.1f} s, {record.info.width}x{record.info.height}, {record.info.fps:.2f} fps · "
        f"{len(view.result.tracks)} person(s) · segments: "
        + ", ".join(f"{n} {s}" for s, n in view.counts().items())
        + (" · whole video reviewed" if view.completed else "")
    )
    for warning in record.warnings:
        st.warning(literal(warning))
    if view.problem:  # missing, or not the analysed file: nothing is played or cut from it
        st.error(f"{literal(view.problem)}. The timeline and review still work.")
        found = st.columns([3, 1], vertical_alignment="bottom")
        found[0].text_input("Folder that holds the analysed video now", key="relink_folder")
        found[1].button(
            "Find it there",
            key="relink",
            width="stretch",
            on_click=lambda: run_op(settings, actions.relink_folder, state.relink_folder, ok="{result}"),
        )
