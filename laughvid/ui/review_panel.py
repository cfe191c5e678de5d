"""Review: navigation and accept/reject/delete/undo, the segment table, editing the selected segment
(bounds, split, merge), the moments the model is unsure about, adding a missed laugh, and marking
the whole video reviewed. Every change is saved to the store by its button's action at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from laughvid.config import Settings
from laughvid.types import ReviewedSegment
from laughvid.ui import actions, selection
from laughvid.ui.messages import run_op

TABLE_COLUMNS = ["#", "start (s)", "end (s)", "length (s)", "peak", "state", "people", "reviewer", "when"]

state = st.session_state


def draw(settings: Settings, view: actions.VideoView) -> None:
    st.subheader("Review")
    selected = selection.selected_index(view.items)
    _buttons(settings, view, selected)
    st.dataframe(
        _table(view.items),
        key="segment_table",
        on_select=selection.on_table_click,
        selection_mode="single-row",
        hide_index=True,
        height=min(400, 38 + 35 * len(view.items)),
    )
    if selected is not None:
        _segment(settings, view, selected)
    _unsure_moments(settings, view)
    _add_missed(settings, view)
    complete = f"complete_{view.record.sha256[:8]}"
    st.checkbox(
        "I have reviewed the whole video (time outside the laugh segments is not laughter)",
        value=view.completed,
        key=complete,
        on_change=lambda: _op(settings, view, actions.mark_complete, state.reviewer, state[complete]),
    )


def _op(
    settings: Settings,
    view: actions.VideoView,
    fn: Callable[..., Any],
    *args: Any,
    ok: str | None = None,
    focus: tuple[float, float] | None = None,
) -> None:
    """A review change on this video; `focus` moves the selection (and the player) to its result."""
    run_op(settings, fn, view.record.sha256, *args, ok=ok, then=(lambda _: selection.focus(*focus)) if focus else None)


def _seconds_box(view: actions.VideoView, where, label: str, value: float, key: str, low: float = 0.0, high: float | None = None) -> None:
    """A time box whose bounds and value lie inside the video. Streamlit refuses a value outside its box
    (StreamlitValueAboveMaxError) and the rest of the review goes with it: a segment an older version
    saved past the video's end, or a seek beyond it, must still open."""
    high = _within(view.duration_s if high is None else high, 0.0, view.duration_s)
    low = _within(low, 0.0, high)
    where.number_input(label, low, high, _within(float(value), low, high), 0.1, key=key, format="%.2f")


def _buttons(settings: Settings, view: actions.VideoView, selected: int | None) -> None:
    """Navigation (keys p, n, j), the changes to the selected segment (a, x, no key for Delete) and Undo."""
    current = view.items[selected] if selected is not None else None
    moves = (
        ("Previous", "navigate_before", "p", (-1,)),
        ("Next", "navigate_next", "n", (1,)),
        ("Next pending", "skip_next", "j", (1, True)),
    )
    changes = (
        ("Accept", "check", "a", actions.accept),
        ("Reject", "close", "x", actions.reject),
        ("Delete", "delete", None, actions.delete),
    )
    nav = st.columns(7)
    for column, (label, icon, key, args) in zip(nav, moves, strict=False):
        column.button(
            label, icon=f":material/{icon}:", on_click=selection.move, args=args, width="stretch", shortcut=key, help=f"shortcut: {key}"
        )
    for column, (label, icon, key, fn) in zip(nav[3:], changes, strict=False):
        column.button(
            label,
            icon=f":material/{icon}:",
            key=label.lower(),
            disabled=current is None,
            type="primary" if fn is actions.accept else "secondary",
            width="stretch",
            shortcut=key,
            help=f"shortcut: {key}" if key else None,
            on_click=lambda fn=fn: _op(settings, view, fn, current, state.reviewer),  # the name typed by the time of the click
        )
    nav[6].button(
        "Undo",
        icon=":material/undo:",
        key="undo",
        width="stretch",
        on_click=lambda: _op(settings, view, actions.undo, ok="undone: {result}"),
    )


def _segment(settings: Settings, view: actions.VideoView, selected: int) -> None:
    """The selected segment: its bounds, split, merge with the next one."""
    items, current = view.items, view.items[selected]
    st.markdown(f"**Segment {selected + 1}**: {current.start_s:.2f}-{current.end_s:.2f} s, {current.state}")
    edit = st.columns(4, vertical_alignment="bottom")
    tag = f"{view.record.sha256[:8]}_{current.start_s:.3f}_{current.end_s:.3f}"
    start, end, split_at = f"start_{tag}", f"end_{tag}", f"split_{tag}"
    _seconds_box(view, edit[0], "Start (s)", current.start_s, start)
    _seconds_box(view, edit[1], "End (s)", current.end_s, end)
    edit[2].button(
        "Save bounds",
        key="save_bounds",
        on_click=lambda: _op(
            settings,
            view,
            actions.edit_bounds,
            current,
            state[start],
            state[end],
            state.reviewer,
            view.duration_s,
            focus=(state[start], state[end]),
        ),
    )
    _seconds_box(view, edit[3], "Split at (s)", (current.start_s + current.end_s) / 2, split_at, current.start_s, current.end_s)
    more = st.columns(4)
    more[0].button("Split", key="split", on_click=lambda: _op(settings, view, actions.split, current, state[split_at], state.reviewer))
    following = items[selected + 1] if selected + 1 < len(items) else None
    more[1].button(
        "Merge with next",
        key="merge",
        disabled=following is None,
        on_click=lambda: _op(settings, view, actions.merge, [current, following], state.reviewer),
    )


def _unsure_moments(settings: Settings, view: actions.VideoView) -> None:
    """On request, the moments of this video the model is least sure about; a click plays there."""
    sha = view.record.sha256
    with st.expander("Moments the model is unsure about"):
        st.button(
            "Find moments to check",
            key="suggest",
            on_click=lambda: run_op(settings, actions.unsure_moments, sha, view.result.smoothing, then=_keep_suggestions),
        )
        for n, moment in enumerate(m for m in state.get("suggestions", []) if m.video_sha256 == sha):
            st.button(
                f"{moment.time_s:.1f} s, person {moment.track_id}: {moment.why}",
                key=f"suggestion_{n}",
                on_click=selection.select,
                args=(None, moment.time_s),
            )


def _add_missed(settings: Settings, view: actions.VideoView) -> None:
    with st.expander("Add a missed laugh"):
        cols = st.columns(3, vertical_alignment="bottom")
        seek_start = state.seek[0]
        _seconds_box(view, cols[0], "From (s)", seek_start, "add_start")
        _seconds_box(view, cols[1], "To (s)", seek_start + 2.0, "add_end")
        cols[2].button(
            "Add segment",
            key="add",
            on_click=lambda: _op(
                settings,
                view,
                actions.add,
                state.add_start,
                state.add_end,
                state.reviewer,
                view.duration_s,
                focus=(state.add_start, state.add_end),
            ),
        )


def _keep_suggestions(moments: list[actions.UnsureMoment]) -> None:
    state.suggestions = moments


def _within(t: float, low: float, high: float) -> float:
    return min(max(t, low), high)


def _table(items: list[ReviewedSegment]) -> pd.DataFrame:
    """One row per segment, as the table shows it (click a row to select that segment)."""
    rows = [
        {
            "#": n + 1,
            "start (s)": round(i.start_s, 2),
            "end (s)": round(i.end_s, 2),
            "length (s)": round(i.segment.duration_s, 2),
            "peak": round(i.segment.peak_prob, 2),
            "state": i.state,
            "people": " ".join(map(str, i.segment.track_ids)),
            "reviewer": i.reviewer or "",
            "when": i.reviewed_at or "",
        }
        for n, i in enumerate(items)
    ]
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)
