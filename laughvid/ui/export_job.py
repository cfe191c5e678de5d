"""Long exports (clips, reel, fine-tune crops) run off the page's script thread, each with its progress
and cancel token, held by the server process so every session (a reload, a second tab) finds them.

Why a thread: run inside a button's callback, a blurred 1080p export held the script for 43 s, the
page greyed out and nothing could stop it (issue 12). The job's thread runs `actions.export_video`
alone (its own store connection: sqlite connections stay on their thread); the page polls `progress`
and shows `outcome` once the thread ends. Nothing here imports Streamlit, so tests drive it directly.

Why the server holds them: kept in one browser session, a job vanished from the page on a reload or
in another tab while it ran on, and its files and errors were never shown (the reviewer might start
it again). Jobs are keyed by store, video, analysis and kind (`JobKey`): the page of that video finds
its running jobs and their results; an identical export asked for while one runs joins it instead of
running twice. A finished job stays until dismissed, for at most KEEP_S, and only the newest
KEEP_FINISHED are kept, so a long-running server does not grow without bound.

Who stops a job: the reviewer (Cancel), the page when the session that started it opens another video
(`for_video`), and the server when it stops (`stop_all`, at exit): the thread is a daemon, which the
interpreter would drop mid-export, leaving its ffmpeg running and a partial temp file in the exports
folder. A closed tab stops nothing (Streamlit tells no one when a session ends): its export runs to the
end, and its result waits for the next page of that video.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import time
from dataclasses import dataclass, field

from laughvid.config import Settings
from laughvid.errors import LaughvidError
from laughvid.ui import actions

STOP_WAIT_S = 10.0  # at exit, how long running exports get to stop (a cancel ends one within a second)
KEEP_S = 3600.0  # how long a finished job's result is shown when no one dismisses it
KEEP_FINISHED = 32  # at most this many finished jobs are kept (the oldest go first)

clock = time.monotonic  # when jobs end and expire (tests move it instead of waiting)


@dataclass(frozen=True)
class JobKey:
    """What makes two exports the same: one store, one analysis of one video, one kind."""

    store: str
    video_sha256: str
    analysis_id: int
    kind: actions.ExportKind


@dataclass(eq=False)  # a job is itself, not its fields: kept in the registry and in sets
class ExportJob:
    """One export of one video. `progress` is the last report, `outcome` the result once done (None
    while running), `error` what stopped it instead: a LaughvidError is a refusal (shown like any
    refusal), anything else a bug (shown by the page as one). `ended_at`: `clock()` when it ended."""

    key: JobKey
    cancel: threading.Event = field(default_factory=threading.Event)
    progress: actions.ExportProgress | None = None
    outcome: actions.Exported | None = None
    error: BaseException | None = None
    thread: threading.Thread | None = None
    ended_at: float | None = None
    asked: tuple = ()  # the settings it runs with (options, blur, consent_ref, all_states, top): a join may differ

    @property
    def ending(self) -> str:
        """How it ended, in the words its result box opens with ("finished" above a refusal misled)."""
        if self.running:
            return "running"
        if isinstance(self.error, LaughvidError):
            return "not done"
        if self.error is not None:
            return "failed"
        return "cancelled" if self.outcome is not None and self.outcome.cancelled else "done"

    @property
    def kind(self) -> actions.ExportKind:
        return self.key.kind

    @property
    def video_sha256(self) -> str:
        return self.key.video_sha256

    @property
    def running(self) -> bool:
        return self.ended_at is None

    def stop(self) -> None:
        """Ask the export to stop (it keeps the files finished before)."""
        self.cancel.set()

    def _run(self, settings: Settings, args: tuple) -> None:
        try:
            with contextlib.closing(actions.connect(settings)) as conn:
                self.outcome = actions.export_video(conn, settings, self.kind, *args, progress=self._keep, cancel=self.cancel)
        except BaseException as exc:  # a refusal to show, or a bug for the page to show: never lost with the thread
            self.error = exc
        finally:
            with _lock:
                self.ended_at = clock()

    def _keep(self, progress: actions.ExportProgress) -> None:
        self.progress = progress


_jobs: dict[JobKey, ExportJob] = {}  # running, and finished until dismissed or expired, whichever session started them
_lock = threading.Lock()


@dataclass(frozen=True)
class Started:
    """What asking for an export did: `job` is the new one, or (`joined`) the identical one already running;
    `other_settings`: that one runs with settings other than those just asked for (say, without blur)."""

    job: ExportJob
    joined: bool = False
    other_settings: bool = False


def key_of(settings: Settings, kind: actions.ExportKind, view: actions.VideoView) -> JobKey:
    return JobKey(str(settings.store_path), view.record.sha256, view.record.id, kind)


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
) -> Started:
    """Start exporting `kind` of the video on screen in a thread (arguments as `actions.export_video`),
    unless the same export of the same analysis is running: that one is handed back, joined. A new job
    replaces the finished result of the same export."""
    key = key_of(settings, kind, view)
    asked = (options, blur, consent_ref, all_states, top)
    with _lock:
        running = _jobs.get(key)
        if running is not None and running.running:
            return Started(running, joined=True, other_settings=running.asked != asked)
        # started before it is registered: a thread that fails to start leaves no job 'running' for good,
        # and `stop_all` never finds a job without a started thread to join
        job = ExportJob(key, asked=asked)
        args = (view, options, blur, card, consent_ref, all_states, top)
        job.thread = threading.Thread(target=job._run, args=(settings, args), name=f"laughvid-export-{kind}", daemon=True)
        job.thread.start()
        _jobs[key] = job
        _prune()
    return Started(job)


def of_video(settings: Settings, view: actions.VideoView) -> list[ExportJob]:
    """The jobs of the analysis on screen, running or finished and not yet dismissed, in kind order."""
    here = (str(settings.store_path), view.record.sha256, view.record.id)
    with _lock:
        _prune()
        found = [job for key, job in _jobs.items() if (key.store, key.video_sha256, key.analysis_id) == here]
    return sorted(found, key=lambda job: job.kind)


def dismiss(job: ExportJob) -> None:
    """Forget a finished job (its result is no longer shown); a running one stays."""
    with _lock:
        if not job.running and _jobs.get(job.key) is job:
            del _jobs[job.key]


def _prune() -> None:
    """Drop finished jobs older than KEEP_S, then all but the newest KEEP_FINISHED (the lock is held)."""
    now = clock()
    finished = sorted((job for job in _jobs.values() if not job.running), key=lambda job: job.ended_at, reverse=True)
    for n, job in enumerate(finished):
        if n >= KEEP_FINISHED or now - job.ended_at > KEEP_S:
            del _jobs[job.key]


def stop_all(wait_s: float = STOP_WAIT_S) -> None:
    """Cancel every running export and wait (up to `wait_s` in all) until each has killed its ffmpeg
    and removed its partial file; run when the server's process exits."""
    with _lock:
        jobs = [job for job in _jobs.values() if job.running]
    for job in jobs:
        job.stop()
    deadline = time.monotonic() + wait_s
    for job in jobs:
        job.thread.join(max(deadline - time.monotonic(), 0.0))


atexit.register(stop_all)


def for_video(job: ExportJob | None, video_sha256: str) -> ExportJob | None:
    """The job a session started if it exports the video open in that session; a job of another video
    (the reviewer opened a new one) is cancelled, keeping the clips it had finished, and dropped from
    the session (its result still waits for the page of its own video)."""
    if job is None or job.video_sha256 == video_sha256:
        return job
    job.stop()
    return None
