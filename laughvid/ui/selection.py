"""What the page asks the player-timeline to do, and what belongs to the video on screen.

The component owns the playhead, the zoom and the selection (they change without a rerun); the page
only sends it one-off commands: select a segment (a click in the segment table) or seek to a time
(a click on a moment the model is unsure about). Each command carries a nonce, so the component
applies it once even though every rerun hands it the same data again.

Everything kept for one video (the answer to its last edit, its exports, its suggestions) is
dropped when another video is opened, so nothing of the previous one shows on the next.
"""

from __future__ import annotations

import itertools

import streamlit as st

from laughvid.types import ReviewedSegment

state = st.session_state

# Not "flash": a message lives for one drawing only, and one queued in the run that opens another
# video (an upload's outcome) is about that opening, so it must reach the new page's message bar.
PER_VIDEO = ("timeline_reply", "command", "exports", "suggestions", "crop_preview")
_nonces = itertools.count(1)


def follow(video_sha256: str, items: list[ReviewedSegment]) -> None:
    """Keep the segments on screen for the callbacks; another video starts with nothing of the last one."""
    state["items"] = items
    if state.get("sel_video") != video_sha256:
        if state.get("sel_video") is not None:
            meant_for_it = (state.get("command") or {}).get("video") == video_sha256  # from the library's review queue
            for key in PER_VIDEO:
                if not (key == "command" and meant_for_it):
                    state.pop(key, None)
        state.sel_video = video_sha256


def command() -> dict | None:
    return state.get("command")


def select(index: int) -> None:
    """Select segment `index` of the last drawing in the player (and seek to its start)."""
    items = state["items"]
    if 0 <= index < len(items):
        state.command = {"nonce": f"c{next(_nonces)}", "select": [items[index].start_s, items[index].end_s]}


def seek(time_s: float) -> None:
    state.command = {"nonce": f"c{next(_nonces)}", "seek": float(time_s)}


def open_at(video_sha256: str, time_s: float) -> None:
    """Open another video (the sidebar's library box follows) and seek its player to `time_s`."""
    state.video = video_sha256
    state.command = {"nonce": f"c{next(_nonces)}", "seek": float(time_s), "video": video_sha256}


def open_row(key: str, shas: list[str]) -> None:
    """A ticked row of the library table opens that video; the tick is cleared (a new table key)."""
    rows = state[key].selection.rows
    if rows:
        state.video = shas[rows[0]]
    state.table_epoch = state.get("table_epoch", 0) + 1


def on_table_click(key: str) -> None:
    """A ticked row selects that segment in the player; the tick is then cleared (a new table key),
    so the table never shows an old row ticked after n / p moved the selection in the player."""
    rows = state[key].selection.rows
    if rows:
        select(rows[0])
    state.table_epoch = state.get("table_epoch", 0) + 1
