"""A long export (clips, reel, fine-tune crops) run off the page's script thread, with its progress and
cancel token, kept in the session so each rerun of the page can show where it is.

Why a thread: run inside a button's callback, a blurred 1080p export held the script for 43 s, the
page greyed out and nothing could stop it (issue 12). The job's thread runs `actions.export_video`
alone (its own store connection: sqlite connections stay on their thread); the page polls `progress`
and shows `outcome` once the thread ends. Nothing here imports Streamlit, so tests drive it directly.

Who stops a job: the reviewer (Cancel), the page when its session opens another video (`for_video`),
and the server when it stops (`stop_all`, at exit): the thread is a daemon, which the interpreter
would drop mid-export, leaving its ffmpeg running and a partial temp file in the exports folder.
A closed tab stops nothing (Streamlit tells no one when a session ends): its export runs to the end.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import time
from dataclasses import dataclass, field

from laughvid.config import Settings
from laughvid.ui import actions

STOP_WAIT_S = 10.0  # at exit, how long running exports get to stop (a cancel ends one within a second)


@dataclass(eq=False)  # a job is itself, not its fields: kept in the set of live jobs
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
        finally:
            with _live_lock:
                _live.discard(self)

    def _keep(self, progress: actions.ExportProgress) -> None:
        self.progress = progress


_live: set[ExportJob] = set()  # started and not ended, whichever session started them
_live_lock = threading.Lock()


def stop_all(wait_s: float = STOP_WAIT_S) -> None:
    """Cancel every running export and wait (up to `wait_s` in all) until each has killed its ffmpeg
    and removed its partial file; run when the server's process exits."""
    with _live_lock:
        jobs = list(_live)
    for job in jobs:
        job.stop()
    deadline = time.monotonic() + wait_s
    for job in jobs:
        job.thread.join(max(deadline - time.monotonic(), 0.0))


atexit.register(stop_all)


def for_video(job: ExportJob | None, video_sha256: str) -> ExportJob | None:
    """The job if it exports the video open in its session; a job of another video (the reviewer
    opened a new one) is cancelled, keeping the clips it had finished, and dropped: nothing of it
    shows on the new one."""
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
    with _live_lock:
        _live.add(job)
    job.thread.start()
    return job
