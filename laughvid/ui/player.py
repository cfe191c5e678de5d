"""The video on screen: its name and numbers, its file (found again when moved), the player-timeline
(video, laugh curves, segment bands, keys and the selected segment's actions) and a thumbnail strip."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import streamlit as st

from laughvid.config import Settings
from laughvid.errors import LaughvidError
from laughvid.ui import actions, selection, series_route, video_route
from laughvid.ui.messages import flash, run_op
from laughvid.ui.player_timeline import player_timeline
from laughvid.ui.text import literal
from laughvid.ui.timeline_payload import Reply, series_payload, timeline_payload

state = st.session_state


STRIP_WIDTH = 320  # px of each thumbnail: a tenth of a wide page at twice the pixel density


@st.cache_data(show_spinner=False, max_entries=8)
def thumbnails(path: str, rotation: int, times: tuple[float, ...]) -> list[tuple[float, bytes]]:
    """The strip's frames as small JPEGs, encoded once: `st.image` re-encoded ten full frames to PNG on
    every rerun (80 ms a rerun for a 720p video, more for 1080p) and sent them at full size."""
    strip = []
    for t, frame in actions.frames_at(path, rotation, times):
        height, width = frame.shape[:2]
        small = cv2.resize(frame, (STRIP_WIDTH, max(1, round(height * STRIP_WIDTH / width))), interpolation=cv2.INTER_AREA)
        strip.append((t, cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()))
    return strip


def player_key(video_sha256: str) -> str:
    """One component per video: opening another video mounts a fresh player."""
    return f"player_{video_sha256[:16]}"


def draw(settings: Settings, view: actions.VideoView, message_bar: Callable[[], None]) -> None:
    """Header, file check, the message bar, the player-timeline, thumbnails.

    Streamlit keeps what the last run drew until this run draws over it, so opening another video
    (after an upload too) showed the new name and player over the previous video's thumbnails (times
    past the new one's end) until the new ones were decoded and sent. The strip is emptied before the
    new header is drawn, and filled once its frames are decoded; while the video stays the same it is
    drawn over in place (emptying it on every rerun would blink)."""
    record = view.record
    top, player_box, strip_box = st.container(), st.container(), st.container()
    strip = strip_box.empty() if state.get("strip_video") != record.sha256 else strip_box
    key = player_key(record.sha256)
    data = timeline_payload(
        sha256=record.sha256,
        url=video_route.video_url(record.sha256),
        fps=record.info.fps,
        duration_s=view.duration_s,
        problem=view.problem,
        series_url=_series_url(view),
        items=view.items,
        threshold=view.result.smoothing.on_threshold,
        reply=state.get("timeline_reply"),
        command=selection.command(),
    )
    with top:
        head, messages = st.columns([3, 2], vertical_alignment="top")
        with head:
            _header(settings, view)
        with messages:
            message_bar()
    with player_box:
        player_timeline(key, data, on_edit=lambda: _on_edit(settings, view, key))
    picks = actions.strip_times(view.result.cache.frame_times_s)
    frames = thumbnails(record.path, record.info.rotation, picks) if picks and not view.problem else []
    with strip.container():
        if frames:
            for column, (t, frame) in zip(st.columns(len(frames)), frames, strict=True):
                column.image(frame, caption=f"{t:.1f} s", width="stretch")
    state.strip_video = record.sha256


def _series_url(view: actions.VideoView) -> str:
    """The curves' URL: one per content (built and published on the first rerun that needs it)."""
    result = view.result
    return series_route.series_url(
        series_route.curves_key(result, view.names),
        lambda: series_payload(
            series=result.series,
            tracks=result.tracks,
            threshold=result.smoothing.on_threshold,
            intensity=result.intensity,
            track_intensity=result.track_intensity,
            names=view.names,
        ),
    )


def _on_edit(settings: Settings, view: actions.VideoView, key: str) -> None:
    """Store the change the player asked for; its answer goes back to the player (and a refusal to
    the message bar). The segments are those the reviewer saw when pressing the key."""
    raw = (state.get(key) or {}).get("edit")
    if not raw:
        return
    edit = actions.TimelineEdit.parse(raw)
    try:
        message, focus = actions.timeline_edit(
            actions.connect(settings), view.record.sha256, view.items, edit, state.get("reviewer", ""), view.duration_s
        )
    except LaughvidError as exc:
        state.timeline_reply = Reply(edit.nonce, False, str(exc))
        flash("error", str(exc))
        return
    state.timeline_reply = Reply(edit.nonce, True, message, focus)


def _header(settings: Settings, view: actions.VideoView) -> None:
    """The name as written (a file name is not Markdown), its numbers, and what is wrong with its file."""
    record = view.record
    st.subheader(literal(record.name))
    st.caption(
        f"{view.duration_s:.1f} s, {record.info.width}x{record.info.height}, {record.info.fps:.2f} fps · "
        f"{len(view.result.tracks)} person(s) · threshold {view.result.smoothing.on_threshold:.2f} · segments: "
        + ", ".join(f"{n} {s}" for s, n in view.counts().items())
        + (" · whole video reviewed" if view.completed else "")
    )
    if view.hidden:
        spans = ", ".join(f"{s.start_s:.1f}-{s.end_s:.1f} s" for s in view.hidden[:4]) + (" ..." if len(view.hidden) > 4 else "")
        st.caption(
            f":material/visibility_off: {len(view.hidden)} candidate(s) at this tuning reach past reviewed segments and are not listed: "
            f"{spans}. Widen the reviewed segment (drag its edge) or add the laugh (I then O) to keep them."
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
