"""Export: clip options, the export buttons (clips, highlight reel, lists, fine-tune set), the progress
of a running export with its Cancel button, and a download button for each file written.

Clips, reels and fine-tune crops run as an `ExportJob` (a thread of its own), so the page stays usable
while they run; a fragment redraws their progress every POLL_S and, once the job ends, puts what it
did in the page's message bar and reruns the page for its download buttons. Lists take milliseconds
and run in their button's callback."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from laughvid.config import Settings
from laughvid.errors import LaughvidError
from laughvid.ui import actions, export_job
from laughvid.ui.messages import flash, run_op
from laughvid.ui.text import literal

CUT_MODES = {"frame-accurate (re-encode)": "reencode", "fast (stream copy, starts on a keyframe)": "copy"}

state = st.session_state
POLL_S = 0.5  # how often a running export's progress is redrawn (a fragment rerun: the page is not greyed)


def draw(settings: Settings, view: actions.VideoView, card: actions.ModelCard | None) -> None:
    busy = "export_job" in state
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
            state.export_job = export_job.start(*chosen)

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
    st.fragment(_job_progress, run_every=POLL_S if busy else None)()
    st.button(
        "Preview fine-tune crops",
        key="preview_finetune",
        disabled=card is None,
        help="a contact sheet of the faces the fine-tune set would get from this video, by label, before anything is written",
        on_click=lambda: run_op(settings, actions.finetune_preview, view.result, view.items, card, then=_keep_preview),
    )
    _contact_sheet(state.get("crop_preview", []))
    for n, path in enumerate(p for p in map(Path, state.get("exports", [])) if p.is_file()):
        st.download_button(
            literal(path.name),
            icon=":material/download:",
            data=path.read_bytes(),
            file_name=path.name,
            key=f"download_{n}",
            on_click="ignore",
        )


def follow_video(video_sha256: str) -> None:
    """Cancel this session's export if it is of another video than the one now open. Called as soon
    as the sidebar has chosen the video, not from `draw`: a page that stops before the export panel
    (the new video fails to open) would otherwise leave the export running with no page to show it."""
    if export_job.for_video(state.get("export_job"), video_sha256) is None:
        state.pop("export_job", None)


def _job_progress() -> None:
    """The running export's bar, its phrase and Cancel; once it has ended, its outcome in the message
    bar and a rerun of the page (download buttons, export buttons enabled again)."""
    job: export_job.ExportJob | None = state.get("export_job")
    if job is None:
        return
    if job.running:
        progress = job.progress
        stopping = job.cancel.is_set()
        phrase = "cancelling..." if stopping else (progress.phrase if progress else "starting the export")
        st.progress(progress.fraction if progress else 0.0, text=literal(phrase))
        st.button("Cancel export", key="cancel_export", icon=":material/cancel:", on_click=job.stop, disabled=stopping)
        return
    del state.export_job
    if isinstance(job.error, LaughvidError):  # a refusal, said like any other
        flash("error", str(job.error))
    elif job.error is not None:  # a bug: Streamlit shows its traceback
        raise job.error
    elif job.outcome is not None:
        _keep(job.outcome)
    st.rerun()


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
    """Offer the files written for download, and say what was done (or that it was cancelled)."""
    if exported.paths:
        state.exports = [str(p) for p in exported.paths]
    for note in exported.notes:
        flash("info" if exported.cancelled else "success", note)
