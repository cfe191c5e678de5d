"""The app's long exports run as an ExportJob (a thread), tested without Streamlit: the job reports
progress to the end and hands back what the export wrote; a refusal comes back as its message; Cancel
during the blur, or opening another video, stops it, writes no clip and leaves no temp file (issue 12).
Jobs belong to the server: another session (a reload, a second tab) finds a running job and its result,
the same export asked for again while it runs joins it, and finished results are kept until dismissed,
for KEEP_S at most and only the newest KEEP_FINISHED."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from media import astronaut_video
from pipe_helpers import BrightnessScorer

from laughvid import review, store
from laughvid.config import Settings
from laughvid.errors import LaughvidError
from laughvid.pipeline.analyze import analyze_video
from laughvid.pipeline.segments import SmoothingParams
from laughvid.ui import actions, export_job

TIMEOUT_S = 120


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    """A 12 s analysed video (long enough that its blur is still running when Cancel is pressed)."""
    tmp = tmp_path_factory.mktemp("job")
    conn = store.open_store(tmp / "s.sqlite")
    path = astronaut_video(tmp / "talk.mp4", seconds=12.0, size=(640, 360), fps=25, face_px=120)
    record = analyze_video(path, conn, BrightnessScorer()).record
    review.add(conn, record.sha256, 0.5, 11.5, "ana")
    return conn, record


def settings_in(tmp_path) -> Settings:
    return Settings(tmp_path / "home")


def view_of(conn, record) -> actions.VideoView:
    return actions.open_video(conn, record, SmoothingParams())


def wait_until(condition) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_job_reports_progress_to_the_end_and_what_it_wrote(video, tmp_path, monkeypatch):
    conn, record = video
    opened = []  # the worker's store connection, to see that it is closed once the job ends
    monkeypatch.setattr(actions, "connect", lambda settings, connect=actions.connect: opened.append(connect(settings)) or opened[-1])
    job = export_job.start(settings_in(tmp_path), "clips", view_of(conn, record), actions.ClipOptions(mode="copy")).job
    wait_until(lambda: not job.running)
    assert job.error is None and not job.outcome.cancelled
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        opened[0].in_transaction  # noqa: B018 (a property that checks the connection is open)
    (clip,) = job.outcome.paths
    assert clip.is_file() and job.outcome.notes[-1] == f"wrote 1 file(s) to {clip.parent}"
    assert job.progress.fraction == 1.0 and job.progress.phrase == "1 clip(s) written"


def test_a_refused_export_comes_back_as_its_message(video, tmp_path):
    conn, record = video
    job = export_job.start(settings_in(tmp_path), "reel", view_of(conn, record), actions.ClipOptions(mode="copy"), blur=True).job
    wait_until(lambda: not job.running)
    assert isinstance(job.error, LaughvidError) and "choose the frame-accurate cut" in str(job.error) and job.outcome is None


def test_a_bug_in_the_export_is_kept_for_the_page_to_raise(video, tmp_path, monkeypatch):
    conn, record = video
    monkeypatch.setattr(actions, "export_video", lambda *args, **kwargs: {}["a bug"])
    job = export_job.start(settings_in(tmp_path), "clips", view_of(conn, record), actions.ClipOptions(mode="copy")).job
    wait_until(lambda: not job.running)
    assert isinstance(job.error, KeyError) and job.outcome is None


@pytest.fixture
def held_exports(monkeypatch):
    """Exports that run until released (`release.set()`), each call recorded as (kind, store); an empty registry."""
    release, calls = threading.Event(), []

    def export_video(conn, settings, kind, *args, progress, cancel):
        calls.append((kind, str(settings.store_path)))
        release.wait(TIMEOUT_S)
        return actions.Exported([], [f"{kind} written"])

    monkeypatch.setattr(actions, "export_video", export_video)
    monkeypatch.setattr(actions, "connect", lambda settings: sqlite3.connect(":memory:"))
    monkeypatch.setattr(export_job, "_jobs", {})
    return release, calls


def test_a_job_started_in_one_session_is_found_from_another_with_its_result(video, tmp_path, held_exports):
    """A reload opens a new session, with a new view of the same analysis: it finds the running job,
    then the same job finished, with what it wrote; another store or video finds nothing."""
    release, _ = held_exports
    conn, record = video
    settings = settings_in(tmp_path)
    job = export_job.start(settings, "clips", view_of(conn, record), actions.ClipOptions()).job
    assert export_job.of_video(settings, view_of(conn, record)) == [job] and job.running
    assert export_job.of_video(settings_in(tmp_path / "other"), view_of(conn, record)) == []
    release.set()
    job.thread.join(TIMEOUT_S)
    (found,) = export_job.of_video(settings, view_of(conn, record))
    assert found is job and not found.running and found.outcome.notes == ["clips written"]


def test_the_same_export_asked_for_while_it_runs_joins_it(video, tmp_path, held_exports):
    release, calls = held_exports
    conn, record = video
    settings = settings_in(tmp_path)
    first = export_job.start(settings, "clips", view_of(conn, record), actions.ClipOptions())
    again = export_job.start(settings, "clips", view_of(conn, record), actions.ClipOptions(mode="copy"), blur=True)
    reel = export_job.start(settings, "reel", view_of(conn, record), actions.ClipOptions())
    same = export_job.start(settings, "clips", view_of(conn, record), actions.ClipOptions())
    assert not first.joined and again.joined and again.job is first.job
    assert again.other_settings and same.joined and not same.other_settings, "a join with other settings (blur) is told apart"
    assert not reel.joined and reel.job is not first.job, "another kind is another export"
    release.set()
    for started in (first, reel):
        started.job.thread.join(TIMEOUT_S)
    assert sorted(kind for kind, _ in calls) == ["clips", "reel"], "the clips were exported once"
    later = export_job.start(settings, "clips", view_of(conn, record), actions.ClipOptions())
    later.job.thread.join(TIMEOUT_S)
    assert not later.joined and export_job.of_video(settings, view_of(conn, record)) == [later.job, reel.job], "replaces the old result"


def test_finished_results_stay_until_dismissed_or_expired_and_only_the_newest_are_kept(video, tmp_path, held_exports, monkeypatch):
    release, _ = held_exports
    conn, record = video
    now = [1000.0]
    monkeypatch.setattr(export_job, "clock", lambda: now[0])
    monkeypatch.setattr(export_job, "KEEP_FINISHED", 2)
    view = view_of(conn, record)
    places = [settings_in(tmp_path / str(n)) for n in range(4)]
    running = export_job.start(places[0], "clips", view, actions.ClipOptions()).job
    export_job.dismiss(running)
    assert export_job.of_video(places[0], view) == [running], "a running export cannot be dismissed"
    release.set()
    running.thread.join(TIMEOUT_S)
    now[0] += export_job.KEEP_S - 1
    assert export_job.of_video(places[0], view) == [running], "kept while no one dismisses it"
    export_job.dismiss(running)
    assert export_job.of_video(places[0], view) == []
    for settings in places:  # four finished jobs, a second apart
        now[0] += 1
        export_job.start(settings, "clips", view, actions.ClipOptions()).job.thread.join(TIMEOUT_S)
    assert [len(export_job.of_video(s, view)) for s in places] == [0, 0, 1, 1], "only the newest KEEP_FINISHED"
    now[0] += export_job.KEEP_S + 1
    assert [len(export_job.of_video(s, view)) for s in places] == [0, 0, 0, 0], "expired"


def blurring_export(video, tmp_path) -> tuple[export_job.ExportJob, Path]:
    """A blurred clip export, returned once it is blurring (the slow part), with its exports folder."""
    conn, record = video
    settings = settings_in(tmp_path)
    job = export_job.start(settings, "clips", view_of(conn, record), actions.ClipOptions(), blur=True).job
    wait_until(lambda: job.progress is not None and "blurring faces" in job.progress.phrase)
    return job, settings.exports_dir


def files_in(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def test_cancel_during_the_blur_writes_nothing(video, tmp_path):
    job, exports = blurring_export(video, tmp_path)
    job.stop()
    wait_until(lambda: not job.running)
    assert job.outcome.cancelled and job.outcome.paths == []
    assert job.outcome.notes == ["export cancelled: 0 of 1 clip(s) written before the cancel; nothing partial was left"]
    assert files_in(exports) == []


def test_opening_another_video_cancels_its_export(video, tmp_path):
    job, exports = blurring_export(video, tmp_path)
    assert export_job.for_video(job, video[1].sha256) is job  # the same video: kept running
    assert export_job.for_video(job, "another video's sha256") is None
    wait_until(lambda: not job.running)
    assert job.outcome.cancelled and files_in(exports) == []


def test_stopping_every_export_waits_until_each_has_cancelled(video, tmp_path):
    """What the server does as it exits (at exit): every session's running export stops cleanly."""
    job, exports = blurring_export(video, tmp_path)
    export_job.stop_all()
    assert not job.running and job.outcome.cancelled
    assert files_in(exports) == []


EXIT_MID_EXPORT = """
import atexit, sys, time
from pathlib import Path
from laughvid import store
from laughvid.config import Settings
from laughvid.pipeline.segments import SmoothingParams
from laughvid.ui import actions
atexit.register(lambda: print("outcome:", job.error or job.outcome.notes))  # runs after export_job's own exit handler
from laughvid.ui import export_job
conn = store.open_store(sys.argv[1])
(record,) = actions.library(conn)
view = actions.open_video(conn, record, SmoothingParams())
job = export_job.start(Settings(Path(sys.argv[2])), "clips", view, actions.ClipOptions(), blur=True).job
while job.running and not (job.progress and "blurring faces" in job.progress.phrase):
    time.sleep(0.01)
"""


def test_a_process_exiting_mid_export_cancels_it_and_leaves_no_file(video, tmp_path):
    """The server stopping (its process exiting) while an export runs: before, the daemon thread was
    dropped and its ffmpeg left a partial temp file in the exports folder."""
    conn, _ = video
    settings = settings_in(tmp_path)
    store_path = conn.execute("PRAGMA database_list").fetchone()[2]
    done = subprocess.run(
        [sys.executable, "-c", EXIT_MID_EXPORT, store_path, str(settings.home)], capture_output=True, text=True, timeout=TIMEOUT_S
    )
    assert done.returncode == 0, done.stderr
    assert "export cancelled: 0 of 1 clip(s) written before the cancel" in done.stdout, done.stderr
    assert [p.name for p in settings.exports_dir.rglob("*") if p.is_file()] == []


def test_a_finished_export_says_how_it_ended():
    """Its result box opened with "finished" above a refusal ("no accepted or added segments yet")."""
    key = export_job.JobKey("store", "sha", 1, "clips")
    ended = dict(ended_at=1.0)
    assert export_job.ExportJob(key).ending == "running"
    assert export_job.ExportJob(key, outcome=actions.Exported([], ["2 clips written"]), **ended).ending == "done"
    assert export_job.ExportJob(key, outcome=actions.Exported([], ["stopped"], cancelled=True), **ended).ending == "cancelled"
    assert export_job.ExportJob(key, error=LaughvidError("no accepted or added segments yet"), **ended).ending == "not done"
    assert export_job.ExportJob(key, error=RuntimeError("a bug"), **ended).ending == "failed"


def test_a_job_whose_thread_cannot_start_is_not_left_running(video, tmp_path, held_exports, monkeypatch):
    """Registered before its thread started, a job whose thread failed to start ('can't start new thread')
    stayed 'running' for good: its page polled forever, its buttons stayed disabled and every later ask joined it."""
    conn, record = video
    settings, view = settings_in(tmp_path), view_of(conn, record)

    def refuse(thread):
        raise RuntimeError("can't start new thread")

    with monkeypatch.context() as patch:
        patch.setattr(threading.Thread, "start", refuse)
        with pytest.raises(RuntimeError):
            export_job.start(settings, "clips", view, actions.ClipOptions())
    assert export_job.of_video(settings, view) == []
