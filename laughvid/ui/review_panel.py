"""Review below the player: the table of all segments (a click selects one in the player), the
moments the model is unsure about, and marking the whole video reviewed. Accept, reject, bounds,
split, merge, add, delete, undo and redo live in the player-timeline (keys and its buttons)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from laughvid.config import Settings
from laughvid.types import PersonNames, ReviewedSegment
from laughvid.ui import actions, selection
from laughvid.ui.messages import run_op
from laughvid.ui.text import literal

TABLE_COLUMNS = ["#", "start (s)", "end (s)", "length (s)", "peak", "intensity", "state", "people", "reviewer", "when (UTC)"]
# Widths (px) that keep every column on screen at 1280x720 (a reviewer's name and the full ISO time pushed
# "when" off the right edge); numbers with two decimals in every row (the grid drops trailing zeros:
# a column read "0", "3.3", "8").
TABLE_CONFIG = {
    "#": st.column_config.NumberColumn(width=40),
    **{
        name: st.column_config.NumberColumn(width=px, format="%.2f")
        for name, px in zip(TABLE_COLUMNS[1:6], (62, 60, 70, 52, 70), strict=True)
    },
    **{name: st.column_config.TextColumn(width=px) for name, px in zip(TABLE_COLUMNS[6:], (72, 110, 110, 125), strict=True)},
}

state = st.session_state


def draw(settings: Settings, view: actions.VideoView) -> None:
    st.subheader("Segments")
    key = f"segment_table_{state.get('table_epoch', 0)}"
    st.dataframe(
        _table(view.items, view.names),
        key=key,
        on_select=lambda: selection.on_table_click(key),
        selection_mode="single-row",
        hide_index=True,
        column_config=TABLE_CONFIG,
        height=min(400, 38 + 35 * len(view.items)),
    )
    _unsure_moments(settings, view)
    complete = f"complete_{view.record.sha256[:8]}"
    st.checkbox(
        "I have reviewed the whole video (time outside the laugh segments is not laughter)",
        value=view.completed,
        key=complete,
        on_change=lambda: run_op(settings, actions.mark_complete, view.record.sha256, state.reviewer, state[complete]),
    )


def _unsure_moments(settings: Settings, view: actions.VideoView) -> None:
    """On request, the moments of this video the model is least sure about; a click seeks the player there."""
    sha = view.record.sha256
    with st.expander("Moments the model is unsure about", key=f"unsure_{sha[:8]}"):
        st.caption(f"Ranked with this page's tuning (threshold {view.result.smoothing.on_threshold:.2f}); reviewed segments are left out.")
        st.button(
            "Find moments to check",
            key="suggest",
            on_click=lambda: run_op(settings, actions.unsure_moments, sha, view.result.smoothing, then=_keep_suggestions),
        )
        for n, moment in enumerate(m for m in state.get("suggestions", []) if m.video_sha256 == sha):
            st.button(
                f"{moment.time_s:.1f} s, {literal(moment.person)}: {moment.why}",
                key=f"suggestion_{n}",
                on_click=selection.seek,
                args=(moment.time_s,),
            )


def _keep_suggestions(moments: list[actions.UnsureMoment]) -> None:
    state.suggestions = moments


def _table(items: list[ReviewedSegment], names: PersonNames) -> pd.DataFrame:
    """One row per segment, as the table shows it (click a row to select that segment in the player); its
    people by name where a participant is linked."""
    rows = [
        {
            "#": n + 1,
            "start (s)": round(i.start_s, 2),
            "end (s)": round(i.end_s, 2),
            "length (s)": round(i.segment.duration_s, 2),
            "peak": round(i.segment.peak_prob, 2),
            "intensity": None if i.segment.peak_intensity is None else round(i.segment.peak_intensity, 2),  # empty: no face geometry
            "state": i.state,
            "people": ", ".join(map(names, i.segment.track_ids)),
            "reviewer": i.reviewer or "",
            "when (UTC)": (i.reviewed_at or "")[:16].replace("T", " "),  # stored as ISO in UTC, to the second
        }
        for n, i in enumerate(items)
    ]
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)
