"""A long export (clips, reel, fine-tune crops) run off the page's script thread, with its progress and
cancel token, kept in the session so each rerun of the page can show where it is.

Why a thread: run inside a button's callback, a blurred 1080p export held the script for 43 s, the
page greyed out and nothing could stop it (issue 12). The job's thread runs `actions.export_video`
alone (its own store connection: sqlite connections stay on their thread); the page polls `progress`
and shows `outcome` once the thread ends. Nothing here imports Streamlit, so tests drive it directly.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field

from laughvid.config import Settings
from laughvid.ui import actions


@dataclass
class ExportJob:
    """One export of one video. `progress` is the last report, `outcome` the result once done (None
    while running), `error` what stopped it instead: a LaughvidError is a refusal (shown like any
    refusal), anything else a bug (re-raised on the script thread so Streamlit shows it as one)."""

    kind: actions.ExportKind
    video_sha256: str
    cancel: threading.Event = field(default_factory=threading.Event)
    progress: actions.ExportProgress | None = None
    outcome: actions.Exported | None = None
    error: BaseException | None = None
    thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def stop(self) -> None:
        """Ask the export to stop (it keeps the files finished before)."""
        self.cancel.set()

    def _run(self, settings: Settings, args: tuple) -> None:
        try:
            with contextlib.closing(actions.connect(settings)) as conn:
                self.outcome = actions.export_video(conn, settings, self.kind, *args, progress=self._keep, cancel=self.cancel)
        except BaseException as exc:  # a refusal to show, or a bug for the page to raise: never lost with the thread
            self.error = exc

    def _keep(self, progress: actions.ExportProgress) -> None:
        self.progress = progress


def for_video(job: ExportJob | None, video_sha256: str) -> ExportJob | None:
    """The job if it exports the video on screen; a job of another video (the reviewer opened a new
    one) is cancelled, keeping the clips it had finished, and dropped: nothing of it shows on this one."""
    if job is None or job.video_sha256 == video_sha256:
        return job
    job.stop()
    return None


def start(
    settings: Settings,
    kind: actions.ExportKind,
    view: actions.VideoView,
    options: actions.ClipOptions,
    blur: bool = False,
    card: actions.ModelCard | None = None,
    consent_ref: str = "",
    all_states: bool = False,
    top: int = 0,
) -> ExportJob:
    """Start exporting `kind` of the video on screen in a thread (arguments as `actions.export_video`)."""
    job = ExportJob(kind, view.record.sha256)
    args = (view, options, blur, card, consent_ref, all_states, top)
    job.thread = threading.Thread(target=job._run, args=(settings, args), name=f"laughvid-export-{kind}", daemon=True)
    job.thread.start()
    return job
