"""Which segment is selected and where the player starts: UI state shared by the timeline, the
segment table and the review buttons.

The selection is kept as a time (`sel_start`), not a row number, so it survives re-thresholding and
edits that move the segment. `seek` is (start, end or None): the player loops over a selected
segment, or plays on from a clicked time. Callbacks read the segments of the last drawing from
`items` (what the reviewer saw when clicking).
"""

from __future__ import annotations

import streamlit as st

from laughvid.types import ReviewedSegment
from laughvid.ui import actions
from laughvid.ui.charts import interpret_click

state = st.session_state


def follow(video_sha256: str, items: list[ReviewedSegment]) -> None:
    """Keep the segments on screen for the callbacks; another video starts unselected at 0 s."""
    state["items"] = items
    if state.get("sel_video") != video_sha256:
        state.sel_video, state.sel_start, state.seek = video_sha256, None, (0.0, None)


def selected_index(items: list[ReviewedSegment]) -> int | None:
    """The segment holding the selected time, if any."""
    at = state.get("sel_start")
    return next((n for n, i in enumerate(items) if at is not None and i.start_s <= at < i.end_s), None)


def select(index: int | None, seek_s: float | None = None) -> None:
    """Select segment `index` (and loop the player over it), or else play from `seek_s`."""
    current = state["items"]
    if index is not None and 0 <= index < len(current):
        item = current[index]
        state.sel_start = item.start_s
        state.seek = (item.start_s, item.end_s)
    elif seek_s is not None:
        state.seek = (seek_s, None)


def focus(start_s: float, end_s: float) -> None:
    """Select the segment at `start_s` once it exists (after an edit or an add) and play it."""
    state.sel_start, state.seek = start_s, (start_s, end_s)


def on_chart_click() -> None:
    points = state.timeline.selection.points if state.get("timeline") else []
    click = interpret_click(points, state["items"])
    if click:
        select(click.segment, click.time_s)


def on_table_click() -> None:
    rows = state.segment_table.selection.rows
    if rows:
        select(rows[0])


def move(direction: int, pending_only: bool = False) -> None:
    """Select the next (+1) or previous (-1) segment, optionally only pending ones."""
    current = state["items"]
    here = selected_index(current)
    if here is None:
        here = -1 if direction > 0 else len(current)
    select(actions.step(current, here, direction, pending_only) if current else None)
