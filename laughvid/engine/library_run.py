"""Analyse a library: every named file once by content, on this process, worker processes or Ray.

    for outcome in analyze_library(conn, files, classifier, model_dir, work_dir=..., spec=EngineSpec(workers=2)):
        outcome.status, outcome.result    # analysed | cached | failed, and the AnalysisResult to write out

This process is the store's only writer, whatever the engine: it plans (probe, hash, skip what is
done, one job per content), dispatches the jobs, imports each finished work file and reads the
result back for every file of that content, so outputs are the same for every engine and worker
count. `workers=0` analyses in this process itself (one video at a time, its decoding threaded over
every core, with the caller's classifier); so does a run with a single video left to analyse on the
local engine, where a worker process would only add its start-up. Every mode goes through the same
per-video work files, so a run of one kind resumes what a run of another kind left unfinished.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from laughvid import store
from laughvid.engine.merge import merge_work_file
from laughvid.engine.plan import PlannedFile, plan_library
from laughvid.engine.worker import Analyser, Job, JobDone, remove_work_file
from laughvid.pipeline.analyze import AnalysisParams, AnalysisResult, Scorer, load_result
from laughvid.pipeline.segments import SmoothingParams

ENGINES = ("local", "ray")
WORK_DIR_NAME = "laughvid-work"  # beside the store: the workers' per-video files


def work_dir_for(store_path: Path) -> Path:
    return Path(store_path).resolve().parent / WORK_DIR_NAME


@dataclass(frozen=True)
class EngineSpec:
    engine: str = "local"  # local | ray
    workers: int | None = None  # None: one per core (local) or per cluster CPU (ray); 0: in this process
    ray_address: str | None = None  # ray: None starts a local cluster, "auto" joins the running one

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {self.engine!r}")
        if self.workers is not None and self.workers < 0:
            raise ValueError(f"workers must be 0 (this process) or more, got {self.workers}")
        if self.engine == "ray" and self.workers == 0:
            raise ValueError("--workers 0 means this process, not a Ray cluster: give a number of actors, or leave it out")


@dataclass(frozen=True)
class VideoOutcome:
    """What became of one named file."""

    path: Path  # as named
    status: str  # analysed | cached | failed
    result: AnalysisResult | None = None
    error: str | None = None  # why it failed, for the user
    resumed_from_s: float | None = None  # an interrupted analysis picked up at this video time
    same_as: Path | None = None  # analysed once, under this other name (same content)


@dataclass
class LibraryProgress:
    """For one progress bar: files done of all, video seconds analysed of those to analyse, what runs now."""

    files_total: int
    seconds_total: float  # of the videos to analyse (cached ones cost nothing)
    files_done: int = 0
    seconds_done: float = 0.0
    current: list[str] = field(default_factory=list)  # names being analysed
    current_fraction: float | None = None  # of the one video analysed in this process
    current_seconds: float = 0.0  # its duration


ProgressFn = Callable[[LibraryProgress], None]


def analyze_library(
    conn: sqlite3.Connection,
    paths: Iterable[Path],
    classifier: Scorer,
    model_dir: str | Path,
    params: AnalysisParams = AnalysisParams(),
    smoothing: SmoothingParams = SmoothingParams(),
    work_dir: Path | None = None,
    spec: EngineSpec = EngineSpec(),
    progress: ProgressFn | None = None,
) -> Iterator[VideoOutcome]:
    """One outcome per file of `paths`, each as soon as it is known (cached and unreadable ones first).

    `classifier` is the model this process uses (its version is the cache key; `workers=0` scores
    with it); `model_dir` is where workers load the same model from. `work_dir` None = a folder
    beside the store. KeyboardInterrupt stops the workers at once; every committed chunk is kept
    and the next run resumes from it.
    """
    work_dir = work_dir or (work_dir_for(_store_file(conn)) if _store_file(conn) else Path(tempfile.gettempdir()) / WORK_DIR_NAME)
    plan = plan_library(conn, paths, classifier.version, params, work_dir)
    state = LibraryProgress(len(plan.files), plan.seconds_to_analyse)

    def report(outcome: VideoOutcome) -> VideoOutcome:
        state.files_done += 1
        if progress:
            progress(state)
        return outcome

    job_of = {job.sha256: job for job in plan.jobs}
    for planned in plan.files:
        if planned.error:
            yield report(VideoOutcome(planned.path, "failed", error=planned.error))
        elif planned.cached:
            yield report(_served(conn, planned, classifier.version, params, smoothing, "cached"))
        elif job_of[planned.sha256].path == planned.info.path:
            _record_video(conn, planned)  # before its work file is imported
    in_process = spec.workers == 0 or (spec.engine == "local" and len(plan.jobs) <= 1)
    if in_process:
        done_stream = _in_process(plan.jobs, Analyser(classifier, params, smoothing), state, progress)
    else:
        done_stream = _engine(plan.jobs, spec, model_dir, params, smoothing, state, progress)
    for done in done_stream:
        job = job_of[done.sha256]
        state.seconds_done += job.duration_s
        failure = _import(conn, job, done, classifier.version)
        first = True
        for planned in (p for p in plan.files if p.sha256 == job.sha256 and not p.error):
            if failure:
                yield report(
                    VideoOutcome(
                        planned.path, "failed", error=failure if first else f"{planned.path}: same content as {job.path}, which failed"
                    )
                )
            elif first:
                yield report(_served(conn, planned, classifier.version, params, smoothing, "analysed", done.resumed_from_s))
            else:
                yield report(_served(conn, planned, classifier.version, params, smoothing, "cached", same_as=Path(job.path)))
            first = False
    with contextlib.suppress(OSError):  # an empty work folder: nothing left to resume
        work_dir.rmdir()


def _store_file(conn: sqlite3.Connection) -> Path | None:
    name = next(row[2] for row in conn.execute("PRAGMA database_list") if row[1] == "main")
    return Path(name) if name else None


def _engine(jobs, spec: EngineSpec, model_dir, params, smoothing, state: LibraryProgress, progress) -> Iterator[JobDone]:
    if spec.engine == "ray":
        from laughvid.engine.ray_engine import run_ray  # lazy: Ray is an optional extra

        return run_ray(jobs, spec.workers, model_dir, params, smoothing, spec.ray_address)
    from laughvid.engine.local import default_workers, run_local

    def running(now: list[Job]) -> None:
        names = [Path(j.path).name for j in now]
        if progress and names != state.current:
            state.current = names
            progress(state)

    return run_local(jobs, spec.workers or default_workers(), model_dir, params, smoothing, running)


def _import(conn: sqlite3.Connection, job: Job, done: JobDone, model_version: str) -> str | None:
    """Merge a worker's work file into the store (the error to report, if any)."""
    source = Path(job.work_path)
    if done.data is not None:  # from another machine: its bytes, written beside the store for the import
        source.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=source.name + ".", suffix=".incoming", dir=source.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(done.data)
        source = Path(name)
    try:
        if source.exists():
            analysis_id = merge_work_file(conn, source)
            merged = store.get_analysis(conn, analysis_id)
            if merged.model_version != model_version:
                return f"{job.path}: the worker analysed it with model {merged.model_version}, not {model_version}: check --model"
        if done.error:
            return done.error  # the failure and its committed part are in the store; the work file stays for resume
        if done.data is None:
            remove_work_file(job.work_path)
        return None
    finally:
        if done.data is not None:
            remove_work_file(source)


def _record_video(conn: sqlite3.Connection, planned: PlannedFile) -> int:
    """Where this content was last seen: this file (so its result names this path)."""
    return store.upsert_video(conn, planned.sha256, planned.info, planned.stamp.size_bytes, planned.stamp.mtime_ns)


def _served(
    conn: sqlite3.Connection,
    planned: PlannedFile,
    model_version: str,
    params: AnalysisParams,
    smoothing: SmoothingParams,
    status: str,
    resumed_from_s: float | None = None,
    same_as: Path | None = None,
) -> VideoOutcome:
    """The stored analysis of this file's content, read back as this file's result."""
    video_id = _record_video(conn, planned)
    record = store.find_analysis(conn, video_id, model_version, store.params_hash(params.as_dict()))
    result = load_result(conn, record.id, smoothing, from_cache=status == "cached")
    return VideoOutcome(planned.path, status, result, resumed_from_s=resumed_from_s, same_as=same_as)


def _in_process(jobs: list[Job], analyser: Analyser, state: LibraryProgress, progress: ProgressFn | None) -> Iterator[JobDone]:
    """The jobs one after another in this process, through the same work files as the workers (so any run resumes any other)."""
    for job in jobs:
        state.current, state.current_seconds = [Path(job.path).name], job.duration_s

        def step(fraction: float, _message: str) -> None:
            state.current_fraction = fraction
            if progress:
                progress(state)

        try:
            done = analyser.analyse(job, progress=step)
        finally:  # before the caller counts the finished video, or the bar counts it twice (it read 200 %)
            state.current, state.current_fraction = [], None
        yield done
