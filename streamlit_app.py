"""laughvid review app: upload -> analyse -> scrub the laugh timeline -> review segments -> export.

    make run        # or, from this folder: streamlit run streamlit_app.py

Both serve http://127.0.0.1:8501 only (.streamlit/config.toml): the app has no authentication, so
read README.md "Exposing the review UI" before opening it to a network.

A thin layer: every action is a library call (laughvid.pipeline.analyze, laughvid.review, laughvid.ui.*,
laughvid.export.*). Buttons use callbacks, so a change is saved to the store before the page is
drawn again and the page always shows what the store holds (a refresh or crash loses nothing).
"""

from __future__ import annotations

import math
import os
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from laughvid import review
from laughvid.config import Settings
from laughvid.export.clips import ClipOptions
from laughvid.export.crops import frames_at
from laughvid.export.lists import to_srt
from laughvid.governance import consent
from laughvid.governance import people as person_tracks
from laughvid.lifecycle import registry
from laughvid.pipeline.analyze import load_result
from laughvid.pipeline.decode import VideoError
from laughvid.pipeline.segments import SmoothingParams
from laughvid.store import StoreError, open_store
from laughvid.ui import actions
from laughvid.ui.charts import SEGMENT_TRACE, interpret_click, timeline_figure
from laughvid.ui.text import literal
from laughvid.ui.uploads import VIDEO_TYPES, max_upload_mb

SETTINGS = Settings.from_env()
CUT_MODES = {"frame-accurate (re-encode)": "reencode", "fast (stream copy, starts on a keyframe)": "copy"}
TUNING_KEYS = ("t_on", "t_gap", "t_median", "t_min", "t_merge")

st.set_page_config(page_title="laughvid review", page_icon=":smile:", layout="wide")
state = st.session_state


def conn():
    """A connection per use: sqlite3 connections must stay on the thread that opened them."""
    return open_store(SETTINGS.store_path)


@st.cache_resource(show_spinner="Loading the smile model...", max_entries=4)
def load_classifier(model_dir: str):
    """Keyed by folder: activating another model (here or with `laughvid models`) loads it on the next run."""
    from laughvid.pipeline.scoring import SmileClassifier

    try:
        return SmileClassifier.load(model_dir), None
    except (FileNotFoundError, ValueError) as exc:
        return None, str(exc)


@st.cache_data(show_spinner=False, max_entries=8)
def thumbnails(path: str, rotation: int, times: tuple[float, ...]):
    return [(t, frame) for t, frame in frames_at(path, rotation, times)]


@st.cache_data(show_spinner="Cutting out faces...", max_entries=4)
def face_thumbnails(sha: str, analysis_id: int, path: str, _tracks: tuple[person_tracks.RawTrack, ...]) -> dict[int, np.ndarray]:
    """One face per raw track, by raw id. The video and its analysis fix the raw tracks (so `_tracks` is
    not hashed): a rerun after a link or a click does not decode again."""
    return {t.track_id: face for t, face in zip(_tracks, person_tracks.track_faces(path, _tracks))}


def licence_notice(card, whose: str) -> None:
    """The terms a model may be used under: NON-COMMERCIAL when its training data forbids commercial use."""
    if card is None:
        st.warning(f"{whose}: model card not found, licence terms unknown.")
        return
    if card.non_commercial:
        st.error(f"{whose}: NON-COMMERCIAL use only: {card.version} was trained on data whose terms forbid commercial use.")
    with st.expander(f"Licence terms of {card.version}"):
        for term in card.terms:
            st.markdown(f"- {term}")


def flash(kind: str, message: str) -> None:
    state.setdefault("flash", []).append((kind, message))


def run_op(fn, *args, ok: str | None = None) -> bool:
    """Run a review call from a callback; a refused change shows why and writes nothing."""
    try:
        result = fn(*args)
    except (review.ReviewError, ValueError, RuntimeError) as exc:
        flash("error", str(exc))
        return False
    if ok:
        flash("success", ok.format(result=result))
    return True


try:
    db = conn()
except StoreError as exc:  # damaged, read-only or locked store: what happened and what to do, as a page
    st.error(literal(str(exc)))
    st.stop()
try:
    classifier, model_error = load_classifier(str(actions.active_model_dir(db)))
except registry.RegistryError as exc:
    classifier, model_error = None, str(exc)

# ---------------------------------------------------------------- first run: analyse the samples
if actions.needs_first_run(db) and classifier is not None and not state.get("samples_tried"):
    state.samples_tried = True
    samples = actions.sample_videos()
    if samples:
        bar = st.progress(0.0, text="First start: analysing the sample video(s) so you can try the review right away")
        outcomes = actions.analyse_files(samples, db, classifier, lambda frac, text: bar.progress(frac, text=text))
        bar.empty()
        for o in outcomes:
            if o.error:
                flash("error", f"sample {o.name}: {o.error}")

# ---------------------------------------------------------------- sidebar: who, upload, library, model, tuning
with st.sidebar:
    st.title("laughvid")
    st.text_input("Reviewer", key="reviewer", placeholder="your name (saved with every change)")

    with st.expander("Upload videos", expanded=not actions.library(db)):
        files = st.file_uploader(
            f"Videos (up to {max_upload_mb()} MB each)", type=list(VIDEO_TYPES), accept_multiple_files=True, key="uploads"
        )
        if st.button("Analyse", disabled=not files or classifier is None, key="analyse", type="primary"):
            bar = st.progress(0.0, text="saving uploads")
            outcomes = actions.upload_and_analyse(
                [(f.name, f) for f in files], SETTINGS.uploads_dir, db, classifier, lambda frac, text: bar.progress(frac, text=text)
            )
            bar.empty()
            state.outcomes = [(o.name, o.error) for o in outcomes]
            done = [o for o in outcomes if o.result]
            if done:
                state.video = done[-1].result.record.sha256
        for name, error in state.get("outcomes", []):
            if error:
                st.error(f"{literal(name)}: {literal(error)}")
            else:
                st.success(f"{literal(name)}: analysed")

    st.subheader("Model")
    choices = {c.version: c for c in actions.model_choices(db)}
    if choices:
        if state.get("model_pick") not in choices:
            state.model_pick = next((v for v, c in choices.items() if c.active), next(iter(choices)))
        st.selectbox("Model versions", list(choices), key="model_pick", format_func=lambda v: choices[v].label,
                     help="registered models; new analyses use the active one (also `laughvid models list`)")  # fmt: skip
        picked = choices[state.model_pick]
        licence_notice(picked.card, "Selected model")
        target = registry.rollback_target(db)
        model_buttons = st.columns(2)
        model_buttons[0].button("Activate", key="model_activate", disabled=picked.active, width="stretch",
                          on_click=lambda: run_op(actions.activate_model, conn(), state.model_pick, ok="active model: {result} (new analyses use it)"))  # fmt: skip
        model_buttons[1].button("Roll back", key="model_rollback", disabled=target is None, width="stretch",
                          help=f"re-activate {target}" if target else "only one model has ever been active",
                          on_click=lambda: run_op(registry.rollback, conn(), ok="rolled back: the active model is {result}"))  # fmt: skip
    if os.environ.get(registry.MODEL_ENV):
        st.caption(f"{registry.MODEL_ENV}={literal(os.environ[registry.MODEL_ENV])} overrides the active model in this app.")
    if model_error:
        st.error(literal(model_error))

    videos = actions.library(db)
    if not videos:
        st.warning("No analysed videos yet: upload one above.")
        st.stop()
    shas = [v.sha256 for v in videos]
    if state.get("video") not in shas:
        state.video = shas[0]
    st.selectbox(
        "Library", shas, key="video",
        format_func=lambda s: next(f"{v.name} ({v.info.duration_s:.0f} s)" for v in videos if v.sha256 == s),
    )  # fmt: skip
    record = next(v for v in videos if v.sha256 == state.video)

    card = actions.model_card_for(record.model_version, db, classifier.card if classifier else None)
    st.caption(f"This video was scored by **{record.model_version}**" + (f"; active model: {classifier.version}" if classifier else ""))
    if record.model_version != state.get("model_pick"):
        licence_notice(card, "This video's model")

    st.subheader("Tuning")
    defaults = SmoothingParams()  # tuned on the dev videos; the same segments as `laughvid analyze`
    default_values = dict(zip(TUNING_KEYS, (defaults.on_threshold, defaults.on_threshold - defaults.off_threshold,
                                            defaults.median_s, defaults.min_duration_s, defaults.merge_gap_s)))  # fmt: skip
    for key, value in default_values.items():
        state.setdefault(key, float(value))

    def reset_tuning() -> None:
        for k, v in default_values.items():
            state[k] = float(v)

    st.slider("Threshold", 0.05, 0.95, step=0.01, key="t_on", help="a laugh starts when the smoothed score reaches this")
    st.slider("Hysteresis", 0.0, 0.5, step=0.01, key="t_gap", help="...and ends when it falls this far below the threshold")
    st.slider("Smoothing (s)", 0.0, 3.0, step=0.1, key="t_median", help="median filter width")
    st.slider("Minimum length (s)", 0.0, 5.0, step=0.1, key="t_min")
    st.slider("Merge gaps shorter than (s)", 0.0, 5.0, step=0.1, key="t_merge")
    st.button("Reset to model defaults", on_click=reset_tuning)

smoothing = replace(
    defaults, on_threshold=state.t_on, off_threshold=max(0.0, state.t_on - state.t_gap), median_s=state.t_median,
    min_duration_s=state.t_min, merge_gap_s=state.t_merge,
)  # fmt: skip
result = load_result(db, record.id, smoothing)
items = review.review_list(result.segments, db, record.sha256)
state["items"] = items
duration = result.end_s  # no segment, review box or clip reaches past it

# ---------------------------------------------------------------- selection and seeking
if state.get("sel_video") != record.sha256:
    state.sel_video, state.sel_start, state.seek = record.sha256, None, (0.0, None)


def selected_index(current: list) -> int | None:
    """The segment holding the selected time (it survives re-thresholding and edits that move it)."""
    at = state.get("sel_start")
    return next((n for n, i in enumerate(current) if at is not None and i.start_s <= at < i.end_s), None)


selected = selected_index(items)


def select(index: int | None, seek_s: float | None = None) -> None:
    current = state["items"]
    if index is not None and 0 <= index < len(current):
        item = current[index]
        state.sel_start = item.start_s
        state.seek = (item.start_s, item.end_s)
    elif seek_s is not None:
        state.seek = (seek_s, None)


def on_chart_click() -> None:
    points = state.timeline.selection.points if state.get("timeline") else []
    click = interpret_click(points, state["items"])
    if click:
        select(click.segment, click.time_s)


def on_table_click() -> None:
    rows = state.segment_table.selection.rows
    if rows:
        select(rows[0])


def step(direction: int, pending_only: bool = False) -> None:
    current = state["items"]
    here = selected_index(current)
    if here is None:
        here = -1 if direction > 0 else len(current)
    select(review.step(current, here, direction, pending_only) if current else None)


def op(fn, *args, ok: str | None = None, focus: tuple[float, float] | None = None) -> None:
    """A review change on this video; `focus` moves the selection (and the player) to its result."""
    if run_op(fn, conn(), record.sha256, *args, ok=ok) and focus:
        state.sel_start, state.seek = focus[0], focus


def within(t: float, low: float, high: float) -> float:
    return min(max(t, low), high)


def seconds_box(where, label: str, value: float, key: str, low: float = 0.0, high: float | None = None) -> None:
    """A time box whose bounds and value lie inside the video. Streamlit refuses a value outside its box
    (StreamlitValueAboveMaxError) and the rest of the review goes with it: a segment an older version
    saved past the video's end, or a seek beyond it, must still open."""
    high = within(duration if high is None else high, 0.0, duration)
    low = within(low, 0.0, high)
    where.number_input(label, low, high, within(float(value), low, high), 0.1, key=key, format="%.2f")


# ---------------------------------------------------------------- main: player, timeline, review, export
for kind, message in state.pop("flash", []):
    st.toast(literal(message), icon=":material/check_circle:" if kind == "success" else ":material/error:")  # messages name files
    if kind == "error":  # errors also stay on the page until the next action
        st.error(literal(message))

st.header(literal(record.name))  # a file name is not Markdown
counts = {s: sum(i.state == s for i in items) for s in ("pending", "accepted", "added", "rejected")}
st.caption(
    f"{duration:.1f} s, {record.info.width}x{record.info.height}, {record.info.fps:.2f} fps · "
    f"{len(result.tracks)} person(s) · segments: " + ", ".join(f"{n} {s}" for s, n in counts.items())
    + (" · whole video reviewed" if review.completed(db, record.sha256) else "")
)
for warning in record.warnings:
    st.warning(warning)
video_problem = actions.video_problem(db, record)  # missing, or not the analysed file: nothing is cut from it
video_on_disk = video_problem is None
if not video_on_disk:
    st.error(f"{literal(video_problem)}. The timeline and review still work.")
    found = st.columns([3, 1], vertical_alignment="bottom")
    found[0].text_input("Folder that holds the analysed video now", key="relink_folder")
    found[1].button("Find it there", key="relink", width="stretch",
                    on_click=lambda: run_op(actions.relink_folder, conn(), state.relink_folder, ok="{result}"))  # fmt: skip

left, right = st.columns([2, 3])
with left:
    seek_start, seek_end = state.seek
    if video_on_disk:
        st.video(
            record.path, start_time=int(seek_start), end_time=math.ceil(seek_end) if seek_end else None, loop=seek_end is not None,
            subtitles={"laughs": to_srt(items)} if items else None,  # the review state as captions while playing
        )  # fmt: skip
    st.caption(f"Playing from {seek_start:.2f} s" + (f" to {seek_end:.2f} s (loop)" if seek_end else ""))
with right:
    figure = timeline_figure(result.series, result.tracks, items, smoothing.on_threshold, selected, seek_start)
    st.plotly_chart(figure, key="timeline", on_select=on_chart_click, selection_mode=("points",))
    st.caption(f"Click the timeline to play from that time; click a ▼ ({SEGMENT_TRACE}) or inside a band to review that segment. Drag to zoom, double-click to zoom out.")

frame_times = result.cache.frame_times_s
if len(frame_times) and video_on_disk:
    picks = tuple(float(frame_times[round(k * (len(frame_times) - 1) / 9)]) for k in range(10))
    for column, (t, frame) in zip(st.columns(len(picks)), thumbnails(record.path, record.info.rotation, picks)):
        column.image(frame, caption=f"{t:.1f} s", width="stretch")

st.subheader("Review")
nav = st.columns(7)
nav[0].button("Previous", icon=":material/navigate_before:", on_click=step, args=(-1,), width="stretch", shortcut="p", help="shortcut: p")
nav[1].button("Next", icon=":material/navigate_next:", on_click=step, args=(1,), width="stretch", shortcut="n", help="shortcut: n")
nav[2].button("Next pending", icon=":material/skip_next:", on_click=step, args=(1, True), width="stretch", shortcut="j", help="shortcut: j")
current = items[selected] if selected is not None else None
nav[3].button("Accept", icon=":material/check:", key="accept", disabled=current is None, type="primary", width="stretch", shortcut="a", help="shortcut: a",
              on_click=lambda: op(review.accept, current, state.reviewer))  # fmt: skip
nav[4].button("Reject", icon=":material/close:", key="reject", disabled=current is None, width="stretch", shortcut="x", help="shortcut: x", on_click=lambda: op(review.reject, current, state.reviewer))
nav[5].button("Delete", icon=":material/delete:", key="delete", disabled=current is None, width="stretch", on_click=lambda: op(review.delete, current, state.reviewer))
nav[6].button("Undo", icon=":material/undo:", key="undo", width="stretch", on_click=lambda: run_op(review.undo, conn(), record.sha256, ok="undone: {result}"))

table = pd.DataFrame(
    [{"#": n + 1, "start (s)": round(i.start_s, 2), "end (s)": round(i.end_s, 2), "length (s)": round(i.segment.duration_s, 2),
      "peak": round(i.segment.peak_prob, 2), "state": i.state, "people": " ".join(map(str, i.segment.track_ids)),
      "reviewer": i.reviewer or "", "when": i.reviewed_at or ""} for n, i in enumerate(items)],
    columns=["#", "start (s)", "end (s)", "length (s)", "peak", "state", "people", "reviewer", "when"],
)  # fmt: skip
st.dataframe(table, key="segment_table", on_select=on_table_click, selection_mode="single-row", hide_index=True, height=min(400, 38 + 35 * len(items)))

if current is not None:
    st.markdown(f"**Segment {selected + 1}**: {current.start_s:.2f}-{current.end_s:.2f} s, {current.state}")
    edit = st.columns(4, vertical_alignment="bottom")
    tag = f"{record.sha256[:8]}_{current.start_s:.3f}_{current.end_s:.3f}"
    seconds_box(edit[0], "Start (s)", current.start_s, f"start_{tag}")
    seconds_box(edit[1], "End (s)", current.end_s, f"end_{tag}")
    bounds = (f"start_{tag}", f"end_{tag}")
    edit[2].button("Save bounds", key="save_bounds", on_click=lambda: op(
        review.edit_bounds, current, state[bounds[0]], state[bounds[1]], state.reviewer, duration, focus=(state[bounds[0]], state[bounds[1]])
    ))  # fmt: skip
    seconds_box(edit[3], "Split at (s)", (current.start_s + current.end_s) / 2, f"split_{tag}", current.start_s, current.end_s)
    more = st.columns(4)
    more[0].button("Split", key="split", on_click=lambda: op(review.split, current, state[f"split_{tag}"], state.reviewer))
    following = items[selected + 1] if selected + 1 < len(items) else None
    more[1].button("Merge with next", key="merge", disabled=following is None, on_click=lambda: op(review.merge, [current, following], state.reviewer))

def suggest() -> None:
    """Unreviewed moments of this video whose label would help the model most (active learning)."""
    from laughvid.review.queue import review_queue

    picks = [r for r in review_queue(conn(), k=200, params=smoothing) if r.candidate.key[0] == record.sha256][:8]
    state.suggestions = [(record.sha256, r.candidate.time_s, r.candidate.track_id, "; ".join(r.reasons) or "mixed signals") for r in picks]


with st.expander("Moments the model is unsure about"):
    st.button("Find moments to check", key="suggest", on_click=suggest)
    for n, (sha, t, track, why) in enumerate(s for s in state.get("suggestions", []) if s[0] == record.sha256):
        st.button(f"{t:.1f} s, person {track}: {why}", key=f"suggestion_{n}", on_click=select, args=(None, t))

with st.expander("Add a missed laugh"):
    cols = st.columns(3, vertical_alignment="bottom")
    seconds_box(cols[0], "From (s)", seek_start, "add_start")
    seconds_box(cols[1], "To (s)", seek_start + 2.0, "add_end")
    cols[2].button("Add segment", key="add", on_click=lambda: op(review.add, state.add_start, state.add_end, state.reviewer, duration, focus=(state.add_start, state.add_end)))

st.checkbox(
    "I have reviewed the whole video (time outside the laugh segments is not laughter)", value=review.completed(db, record.sha256) is not None,
    key=f"complete_{record.sha256[:8]}", on_change=lambda: op(review.mark_complete, state.reviewer, state[f"complete_{record.sha256[:8]}"]),
)  # fmt: skip

st.subheader("Export")


def link(person: person_tracks.Person, tag: str) -> None:
    """Link the ticked raw tracks of a person to the chosen participant."""
    participant = state[f"link_to_{tag}_{person.person_id}"]
    ticked = [t.track_id for t in person.tracks if state[f"tick_{tag}_{t.track_id}"]]
    run_op(person_tracks.link_person, conn(), person, participant, ticked,
           ok=f"person {person.person_id}: raw track(s) {', '.join(map(str, ticked))} linked to {participant}")  # fmt: skip


def unlink(track_id: int) -> None:
    run_op(consent.unlink_tracks, conn(), record.sha256, [track_id], ok=f"raw track {track_id} unlinked: blurred when blurring is on")


def register() -> None:
    run_op(actions.register_participant, conn(), state.new_pid, state.new_name, state.new_scopes, state.new_consented,
           state.new_expires, ok="registered {result.participant_id}: link their face above")  # fmt: skip


def people_in_video() -> None:
    """Each person's faces (one per raw track), their consent links, and the form to register a participant."""
    tag = str(record.id)  # raw track ids belong to one analysis
    everyone = actions.people_links(db, result)
    faces: dict[int, np.ndarray] = {}
    if video_on_disk:
        try:
            faces = face_thumbnails(record.sha256, record.id, record.path, tuple(t.track for p in everyone for t in p.tracks))
        except VideoError as exc:
            st.warning(f"faces cannot be shown: {literal(exc)}")
    participants = {p.participant_id: p for p in consent.active_participants(db)}
    if not everyone:
        st.info("No face was found in this video.")
    if not participants:
        st.info("No participant registered yet: register one below, then link their face.")
    for entry in everyone:
        person = entry.person
        kind = "Fragment" if person.fragment else "Person"
        st.markdown(f"**{kind} {person.person_id}**" + (" (seen too briefly to be on the timeline)" if person.fragment else ""))
        for start in range(0, len(entry.tracks), person_tracks.COLUMNS):
            for column, face in zip(st.columns(person_tracks.COLUMNS), entry.tracks[start : start + person_tracks.COLUMNS]):
                t = face.track
                if t.track_id in faces:
                    column.image(faces[t.track_id], width=person_tracks.THUMB)
                column.checkbox(f"raw track {t.track_id}", value=True, key=f"tick_{tag}_{t.track_id}",
                                help="ticked: linking this person links this face; untick a face that shows someone else")  # fmt: skip
                column.caption(f"{t.span}, {t.detections} detections  \n{face.status}")
                column.button("Unlink", key=f"unlink_{tag}_{t.track_id}", disabled=face.participant_id is None,
                              on_click=unlink, args=(t.track_id,))  # fmt: skip
        row = st.columns([3, 1], vertical_alignment="bottom")
        row[0].selectbox(f"{kind} {person.person_id} is", list(participants), index=None, key=f"link_to_{tag}_{person.person_id}",
                         format_func=lambda pid: f"{pid}: {participants[pid].name} ({', '.join(participants[pid].scopes)})",
                         placeholder="choose a registered participant")  # fmt: skip
        row[1].button("Link", key=f"link_{tag}_{person.person_id}", on_click=link, args=(person, tag), width="stretch")
    st.markdown("**Register a participant**")
    with st.form("register_participant"):
        cols = st.columns(5)
        cols[0].text_input("Participant id", key="new_pid", placeholder="e.g. p01")
        cols[1].text_input("Name", key="new_name")
        cols[2].multiselect("Consented to", consent.SCOPES, key="new_scopes",
                            help="clips: face may appear unblurred in exported clips; finetune: face crops may train models")  # fmt: skip
        cols[3].date_input("Consent given on", date.today(), key="new_consented")
        cols[4].date_input("Expires after (optional)", None, key="new_expires")
        st.form_submit_button("Register", on_click=register)


with st.expander("People in this video: whose face may stay unblurred", key="people_panel", on_change="rerun") as people_panel:
    st.caption("Consent is linked face by face: each thumbnail is one raw track of the tracker, and a person of the timeline "
               "may join two people taking turns at one spot. Untick a face that shows someone else before linking.")  # fmt: skip
    if people_panel.open:  # lazy: faces are cut out of the video only when someone opens the panel
        people_in_video()

defaults_clip = ClipOptions()
cols = st.columns(4)
cols[0].number_input("Pre-roll (s)", 0.0, 30.0, defaults_clip.pre_roll_s, 0.5, key="pre_roll", help="the joke before the laugh")
cols[1].number_input("Post-roll (s)", 0.0, 30.0, defaults_clip.post_roll_s, 0.5, key="post_roll")
cols[2].radio("Cut", list(CUT_MODES), key="cut_mode")
cols[3].text_input("Consent reference", key="consent_ref", help="recorded with fine-tune crops of faces not linked to a registered participant")
cols[3].checkbox("Blur faces without clips consent", key="blur",
                 help="faces not linked to a participant with `clips` consent are blurred in clips and reels: "
                      "link them in **People in this video** above (or with `laughvid consent link`)")  # fmt: skip


def export(kind: str) -> None:
    options = ClipOptions(state.pre_roll, state.post_roll, CUT_MODES[state.cut_mode])
    c = conn()
    try:
        if kind in ("clips", "reel"):
            laughs = actions.laugh_segments(state["items"])
            blur = actions.face_blur(c, record, result.cache, options) if state.blur else None
            made = actions.clips_for(SETTINGS.exports_dir, record, laughs, options, blur) if kind == "clips" else [
                actions.reel_for(SETTINGS.exports_dir, record, laughs, options, blur)]
            if blur is not None:
                flash("success", f"blurred the faces of raw track(s) {', '.join(map(str, blur.track_ids))} (no clips consent)"
                      if blur.track_ids else "every face has clips consent: nothing blurred")  # fmt: skip
            paths = [m.path for m in made]
        elif kind == "lists":
            paths = list(actions.lists_for(SETTINGS.exports_dir, record, state["items"]).values())
        else:
            done = actions.finetune_for(SETTINGS, c, record, result, state["items"], card, state.consent_ref)
            flash("success", f"fine-tune set {done.root}: {done.counts()} crops from this video" + (f", {done.removed} outdated removed" if done.removed else ""))
            return
        state.exports = [str(p) for p in paths]
        flash("success", f"wrote {len(paths)} file(s) to {paths[0].parent}")
    except (review.ReviewError, ValueError, RuntimeError, OSError) as exc:
        flash("error", str(exc))


buttons = st.columns(4)
buttons[0].button("Export clips", key="export_clips", on_click=export, args=("clips",), width="stretch")
buttons[1].button("Export highlight reel", key="export_reel", on_click=export, args=("reel",), width="stretch")
buttons[2].button("Export lists (CSV, JSON, SRT, EDL)", key="export_lists", on_click=export, args=("lists",), width="stretch")
buttons[3].button("Add to fine-tune set", key="export_finetune", on_click=export, args=("finetune",), width="stretch",
                  disabled=card is None)  # fmt: skip
for n, path in enumerate(p for p in map(Path, state.get("exports", [])) if p.is_file()):
    st.download_button(literal(path.name), icon=":material/download:", data=path.read_bytes(), file_name=path.name, key=f"download_{n}", on_click="ignore")
