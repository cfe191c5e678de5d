"""Export: clip options, the export buttons (clips, highlight reel, lists, fine-tune set), the progress
of each running export with its Cancel button, what each finished export did with a download button
for each file written, and the files of the last lists export.

Clips, reels and fine-tune crops run as an `ExportJob` (a thread of its own, held by the server, see
`export_job`), so the page stays usable while they run, and a reload or another tab of the same video
shows them too; a fragment redraws their progress every POLL_S and reruns the page once they end.
A finished export's result stays on its video's page until dismissed; the session that started it
also gets its outcome in the message bar. Lists take milliseconds and run in their button's callback."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from laughvid.config import Settings
from laughvid.errors import LaughvidError
from laughvid.ui import actions, export_job
from laughvid.ui.messages import flash, run_op
from laughvid.ui.text import literal

TITLES = {"clips": "Clips", "reel": "Highlight reel", "finetune": "Fine-tune set"}  # the jobs' kinds, as the panel names them
CUT_MODES = {"frame-accurate (re-encode)": "reencode", "fast (stream copy, starts on a keyframe)": "copy"}

state = st.session_state
POLL_S = 0.5  # how often a running export's progress is redrawn (a fragment rerun: the page is not greyed)


def draw(settings: Settings, view: actions.VideoView, card: actions.ModelCard | None) -> None:
    jobs = export_job.of_video(settings, view)
    busy = any(job.running for job in jobs)
    defaults = actions.ClipOptions()
    cols = st.columns(4)
    cols[0].number_input("Pre-roll (s)", 0.0, 30.0, defaults.pre_roll_s, 0.5, key="pre_roll", help="the joke before the laugh")
    cols[1].number_input("Post-roll (s)", 0.0, 30.0, defaults.post_roll_s, 0.5, key="post_roll")
    cols[2].radio("Cut", list(CUT_MODES), key="cut_mode")
    cols[3].text_input(
        "Consent reference", key="consent_ref", help="recorded with fine-tune crops of faces not linked to a registered participant"
    )
    # The two boxes get a row of their own: in a quarter of the page at 1280x720 their labels were cut
    # to "Blur faces without clip..." and "SRT/EDL: every segme...".
    boxes = st.columns(2)
    boxes[0].checkbox(
        "Blur faces without clips consent",
        key="blur",
        help="faces not linked to a participant with `clips` consent are blurred in clips and reels: "
        "link them in **People in this video** above (or with `laughvid consent link`)",
    )

    cols[1].number_input(
        "Biggest laughs only",
        0,
        999,
        0,
        1,
        key="top_laughs",
        help="clips and reel of only this many laughs, those with the highest peak laugh intensity (clip01 = the biggest); "
        "laughs without intensity (analysed without face geometry) come last. 0: every laugh, in time order",
    )
    boxes[1].checkbox(
        "SRT/EDL: every segment, with its state",
        key="lists_all_states",
        help="by default subtitles and the cut list hold only accepted and added laughs; CSV and JSON always hold every segment",
    )

    def export(kind: actions.ExportKind) -> None:
        options = actions.ClipOptions(state.pre_roll, state.post_roll, CUT_MODES[state.cut_mode])
        chosen = (settings, kind, view, options, state.blur, card, state.consent_ref, state.lists_all_states, state.top_laughs)
        if kind == "lists":
            run_op(settings, actions.export_video, *chosen, then=_keep)
        else:
            _started(export_job.start(*chosen))

    buttons = st.columns(4)
    buttons[0].button("Export clips", key="export_clips", on_click=export, args=("clips",), width="stretch", disabled=busy)
    buttons[1].button("Export highlight reel", key="export_reel", on_click=export, args=("reel",), width="stretch", disabled=busy)
    buttons[2].button(
        "Export lists",
        key="export_lists",
        on_click=export,
        args=("lists",),
        width="stretch",
        help="CSV and JSON of every segment, SRT subtitles and an EDL cut list",
    )
    buttons[3].button(
        "Add to fine-tune set", key="export_finetune", on_click=export, args=("finetune",), width="stretch", disabled=card is None or busy
    )
    st.fragment(_running, run_every=POLL_S if busy else None)(settings, view, busy)
    for job in jobs:
        if not job.running:
            _finished(job)
    st.button(
        "Preview fine-tune crops",
        key="preview_finetune",
        disabled=card is None,
        help="a contact sheet of the faces the fine-tune set would get from this video, by label, before anything is written",
        on_click=lambda: run_op(settings, actions.finetune_preview, view.result, view.items, card, then=_keep_preview),
    )
    _contact_sheet(state.get("crop_preview", []))
    _downloads(state.get("exports", []), "download_lists")


def follow_video(video_sha256: str) -> None:
    """Cancel the export this session started if it is of another video than the one now open. Called
    as soon as the sidebar has chosen the video, not from `draw`: a page that stops before the export
    panel (the new video fails to open) would otherwise leave the export running with no page to show it."""
    if export_job.for_video(state.get("export_job"), video_sha256) is None:
        state.pop("export_job", None)


def _started(started: export_job.Started) -> None:
    """Remember the job this session started (to cancel it with its video, and report its end here); an
    identical export already running is shown, not run twice, and the reviewer is told why (and when it runs
    with other settings than those asked for: joined unsaid, a blurred export asked for could come out unblurred)."""
    if started.joined:
        flash(
            "info",
            f"this video's {TITLES[started.job.kind].lower()} export is already running (started before a reload or in another tab): "
            "its progress is shown below; it was not started a second time"
            + (
                ", and it keeps the settings it was started with, not those on this page (blur, cut, rolls, biggest laughs): "
                "cancel it and export again to use these"
                if started.other_settings
                else ""
            ),
        )
    else:
        state.export_job = started.job


def _running(settings: Settings, view: actions.VideoView, watching: bool) -> None:
    """Each running export's bar, its phrase and Cancel. Once the one this session started has ended, its
    outcome goes in the message bar; once a running export has ended, the page reruns (its result,
    download buttons, export buttons enabled again)."""
    mine: export_job.ExportJob | None = state.get("export_job")
    if mine is not None and not mine.running:
        del state.export_job
        _say(mine)
        st.rerun()
    jobs = [job for job in export_job.of_video(settings, view) if job.running]
    if watching and not jobs:
        st.rerun()
    for job in jobs:
        progress = job.progress
        stopping = job.cancel.is_set()
        phrase = "cancelling..." if stopping else (progress.phrase if progress else "starting the export")
        st.progress(progress.fraction if progress else 0.0, text=literal(phrase))
        st.button("Cancel export", key=f"cancel_export_{job.kind}", icon=":material/cancel:", on_click=job.stop, disabled=stopping)


def _finished(job: export_job.ExportJob) -> None:
    """What a finished export did (or why it did not), its files to download, and Dismiss."""
    with st.container(border=True):
        st.caption(f"{TITLES[job.kind]} export of this video: {job.ending}")
        if isinstance(job.error, LaughvidError):
            st.error(literal(str(job.error)), icon=":material/error:")
        elif job.error is not None:  # a bug: Streamlit shows its traceback
            st.exception(job.error)
        else:
            for note in job.outcome.notes:
                (st.info if job.outcome.cancelled else st.success)(literal(note))
            _downloads(job.outcome.paths, f"download_{job.kind}")
        st.button("Dismiss", key=f"dismiss_export_{job.kind}", icon=":material/close:", on_click=export_job.dismiss, args=(job,))


def _say(job: export_job.ExportJob) -> None:
    """A finished job's outcome in the message bar (a bug is shown where its result is)."""
    if isinstance(job.error, LaughvidError):  # a refusal, said like any other
        flash("error", str(job.error))
    elif job.outcome is not None:
        for note in job.outcome.notes:
            flash("info" if job.outcome.cancelled else "success", note)


def _downloads(paths: list, key: str) -> None:
    """A download button for each file still there."""
    for n, path in enumerate(p for p in map(Path, paths) if p.is_file()):
        st.download_button(
            literal(path.name),
            icon=":material/download:",
            data=path.read_bytes(),
            file_name=path.name,
            key=f"{key}_{n}",
            on_click="ignore",
        )


def _keep_preview(crops: list) -> None:
    state.crop_preview = crops


def _contact_sheet(crops: list, columns: int = 12) -> None:
    """The previewed crops, smiles then non-smiles, each captioned with its time and person."""
    for label in ("smile", "non_smile"):
        shown = [c for c in crops if c[0] == label]
        if not shown:
            continue
        st.caption(f"{label}: {len(shown)} of the crops this video would add (spread over the video)")
        for start in range(0, len(shown), columns):
            for column, (_, t, person, image) in zip(st.columns(columns), shown[start : start + columns], strict=False):
                column.image(image, caption=f"{t:.1f} s {person}", width="stretch")


def _keep(exported: actions.Exported) -> None:
    """Offer the lists written for download, and say what was done."""
    if exported.paths:
        state.exports = [str(p) for p in exported.paths]
    for note in exported.notes:
        flash("success", note)
