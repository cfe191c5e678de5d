"""People in this video: whose face may stay unblurred. Each person's faces (one per raw track of the
tracker), their consent links, linking and unlinking, and registering a participant.

Consent is linked face by face because stitching joins raw tracks by time, place and size only:
two people taking turns at one spot can be one person of the timeline (docs/review-ui.md).
"""

from __future__ import annotations

import sqlite3
from datetime import date

import streamlit as st

from laughvid.config import Settings
from laughvid.ui import actions
from laughvid.ui.messages import run_op
from laughvid.ui.text import literal

state = st.session_state


@st.cache_data(show_spinner="Cutting out faces...", max_entries=4)
def face_thumbnails(sha: str, analysis_id: int, path: str, _tracks: tuple[actions.RawTrack, ...]) -> actions.Faces:
    """One face per raw track. The video and its analysis fix the raw tracks (so `_tracks` is not
    hashed): a rerun after a link or a click does not decode again."""
    return actions.track_thumbnails(path, _tracks)


def draw(settings: Settings, db: sqlite3.Connection, view: actions.VideoView) -> None:
    """The panel, as a lazy expander: faces are cut out of the video only when someone opens it."""
    with st.expander("People in this video: whose face may stay unblurred", key="people_panel", on_change="rerun") as panel:
        st.caption(
            "Consent is linked face by face: each thumbnail is one raw track of the tracker, and a person of the timeline "
            "may join two people taking turns at one spot. Untick a face that shows someone else before linking."
        )
        if panel.open:
            _people(settings, db, view)


def _people(settings: Settings, db: sqlite3.Connection, view: actions.VideoView) -> None:
    record = view.record
    tag = str(record.id)  # raw track ids belong to one analysis
    everyone = actions.people_links(db, view.result)
    faces = actions.Faces({})
    if not view.problem:
        faces = face_thumbnails(record.sha256, record.id, record.path, tuple(t.track for p in everyone for t in p.tracks))
        if faces.problem:
            st.warning(f"faces cannot be shown: {literal(faces.problem)}")
    participants = {p.participant_id: p for p in actions.active_participants(db)}
    if not everyone:
        st.info("No face was found in this video.")
    if not participants:
        st.info("No participant registered yet: register one below, then link their face.")
    for entry in everyone:
        person = entry.person
        kind = "Fragment" if person.fragment else "Person"
        st.markdown(f"**{kind} {person.person_id}**" + (" (seen too briefly to be on the timeline)" if person.fragment else ""))
        for start in range(0, len(entry.tracks), actions.COLUMNS):
            for column, face in zip(st.columns(actions.COLUMNS), entry.tracks[start : start + actions.COLUMNS], strict=False):
                t = face.track
                if t.track_id in faces.by_track:
                    column.image(faces.by_track[t.track_id], width=actions.THUMB)
                column.checkbox(
                    f"raw track {t.track_id}",
                    value=True,
                    key=f"tick_{tag}_{t.track_id}",
                    help="ticked: linking this person links this face; untick a face that shows someone else",
                )
                column.caption(f"{t.span}, {t.detections} detections  \n{face.status}")
                column.button(
                    "Unlink",
                    key=f"unlink_{tag}_{t.track_id}",
                    disabled=face.participant_id is None,
                    on_click=run_op,
                    args=(settings, actions.unlink_tracks, record.sha256, [t.track_id]),
                    kwargs={"ok": f"raw track {t.track_id} unlinked: blurred when blurring is on"},
                )
        row = st.columns([3, 1], vertical_alignment="bottom")
        row[0].selectbox(
            f"{kind} {person.person_id} is",
            list(participants),
            index=None,
            key=f"link_to_{tag}_{person.person_id}",
            format_func=lambda pid: f"{pid}: {participants[pid].name} ({', '.join(participants[pid].scopes)})",
            placeholder="choose a registered participant",
        )
        row[1].button("Link", key=f"link_{tag}_{person.person_id}", on_click=_link, args=(settings, person, tag), width="stretch")
    _register_form(settings)


def _link(settings: Settings, person: actions.Person, tag: str) -> None:
    """Link the ticked raw tracks of a person to the chosen participant."""
    participant = state[f"link_to_{tag}_{person.person_id}"]
    ticked = [t.track_id for t in person.tracks if state[f"tick_{tag}_{t.track_id}"]]
    run_op(settings, actions.link_faces, person, participant, ticked, ok="{result}")


def _register(settings: Settings) -> None:
    run_op(
        settings,
        actions.register_participant,
        state.new_pid,
        state.new_name,
        state.new_scopes,
        state.new_consented,
        state.new_expires,
        ok="registered {result.participant_id}: link their face above",
        then=_clear_form,
    )


def _clear_form(_registered: object) -> None:
    """Empty the form once registered: the next participant starts blank, not with the last one's consent."""
    # Set, not deleted: the browser would send a deleted form widget's old value back.
    state.new_pid, state.new_name, state.new_scopes, state.new_expires = "", "", [], None


def _register_form(settings: Settings) -> None:
    st.markdown("**Register a participant**")
    with st.form("register_participant"):
        # Two rows: in five columns at 1280 px the chosen scopes and the expiry date were cut off.
        who = st.columns([1, 2])
        who[0].text_input("Participant id", key="new_pid", placeholder="e.g. p01")
        who[1].text_input("Name", key="new_name")
        what = st.columns([2, 1, 1])
        what[0].multiselect(
            "Consented to",
            actions.SCOPES,
            key="new_scopes",
            help="clips: face may appear unblurred in exported clips; finetune: face crops may train models",
        )
        what[1].date_input("Consent given on", date.today(), key="new_consented")
        what[2].date_input("Expires after (optional)", None, key="new_expires")
        st.form_submit_button("Register", on_click=_register, args=(settings,))
