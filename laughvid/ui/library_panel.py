"""The library below the export: every analysed video with its review counts (a click opens it), and
one review queue across videos, in `laughvid review-next` order or biggest laugh first (a click opens
that video there)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from laughvid.config import Settings
from laughvid.ui import actions, selection
from laughvid.ui.messages import run_op
from laughvid.ui.text import literal

ORDERS = {"useful": "most useful to label first", "intensity": "biggest laugh first"}  # review.queue.ORDERS, as shown
COLUMNS = ["video", "length (s)", "pending", "accepted", "rejected", "added", "reviewed"]
# Widths that keep every column on screen at 1280 px (the name's column took the room and cut the last off).
NAME_WIDTH = 320
COLUMN_CONFIG = {
    "video": st.column_config.TextColumn(width=NAME_WIDTH, help="the file's name; click a row to open it"),
    "length (s)": st.column_config.NumberColumn(width="small", format="%.1f"),  # the grid drops trailing zeros: "8" beside "2.5"
    **{name: st.column_config.NumberColumn(width="small") for name in COLUMNS[2:-1]},
    "reviewed": st.column_config.CheckboxColumn(width="small", help="the whole video is marked reviewed"),
}

state = st.session_state


def draw(settings: Settings, db, smoothing: actions.SmoothingParams, segments: actions.SegmentsOf) -> None:
    """`segments`: each analysis' segments at `smoothing`, as cached by the page (see app.auto_segments)."""
    st.subheader("Library")
    entries = [e for e in actions.library_entries(db, smoothing, segments=segments) if e.status == "done"]
    table = pd.DataFrame(
        [[e.name, round(e.duration_s, 1), e.pending, e.accepted, e.rejected, e.added, e.reviewed] for e in entries],
        columns=COLUMNS,
    )
    key = f"library_table_{state.get('table_epoch', 0)}"
    shas = [e.sha256 for e in entries]
    st.dataframe(
        table,
        key=key,
        on_select=lambda: selection.open_row(key, shas),
        selection_mode="single-row",
        hide_index=True,
        column_config=COLUMN_CONFIG,
        height=min(300, 38 + 35 * len(entries)),
    )
    st.caption(f"Counts at this page's tuning (threshold {smoothing.on_threshold:.2f}). Click a row to open that video.")
    ask, order = st.columns([1, 2], vertical_alignment="center")
    order.radio(
        "Queue order",
        list(ORDERS),
        format_func=ORDERS.get,
        key="queue_order",
        horizontal=True,
        label_visibility="collapsed",
        help="Biggest laugh first: by laugh intensity (face geometry); moments of analyses without it come last",
    )
    ask.button(
        "Review queue across videos",
        key="queue_all",
        help="unreviewed moments over every video not marked reviewed, in the order chosen beside (as `laughvid review-next --order`)",
        on_click=lambda: run_op(settings, actions.unsure_moments, None, smoothing, 10, state.queue_order, then=_keep_queue),
    )
    for n, moment in enumerate(state.get("library_queue", [])):
        st.button(
            f"{literal(moment.video_name)} at {moment.time_s:.1f} s, {literal(moment.person)}: {moment.why}",
            key=f"queue_{n}",
            on_click=selection.open_at,
            args=(moment.video_sha256, moment.time_s),
        )


def _keep_queue(moments: list[actions.UnsureMoment]) -> None:
    state.library_queue = moments
