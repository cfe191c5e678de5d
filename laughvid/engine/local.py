"""The engine of one machine: worker processes from concurrent.futures, one per core by default.

Workers are started with `spawn` (no copy of the parent's threads or ONNX sessions) and load their
models once each (laughvid.engine.worker.Analyser). They ignore Ctrl-C: the parent stops them and
keeps what they committed. A worker that dies (killed, out of memory, a decoder crash) breaks the
pool: the videos not finished go to a fresh pool, and a video whose worker died twice is given up
with that reason, so one poisonous file cannot stop a library.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from laughvid.engine.worker import Analyser, Job, JobDone
from laughvid.errors import EngineError
from laughvid.pipeline.analyze import AnalysisParams
from laughvid.pipeline.segments import SmoothingParams

MAX_WORKER_DEATHS = 2  # a video whose worker died this often is reported as failed instead of retried
POLL_S = 0.5  # how often `on_running` hears which videos are being analysed

_analyser: Analyser | None = None  # this worker process's models


def default_workers() -> int:
    """One worker per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _start_worker(model_dir: str, params: AnalysisParams, smoothing: SmoothingParams) -> None:
    global _analyser
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _die_with_parent()
    _analyser = Analyser.load(model_dir, params, smoothing)


def _die_with_parent() -> None:
    """Linux: be killed when the parent dies (a SIGKILLed run leaves no worker writing behind it)."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _analyse(job: Job) -> JobDone:
    assert _analyser is not None, "worker not started"
    return _analyser.analyse(job)


def run_local(
    jobs: Sequence[Job],
    workers: int,
    model_dir: str | Path,
    params: AnalysisParams,
    smoothing: SmoothingParams,
    on_running: Callable[[list[Job]], None] | None = None,
) -> Iterator[JobDone]:
    """Analyse `jobs` on `workers` processes; yields each as it finishes (in any order).

    On KeyboardInterrupt (or when the caller stops iterating) the workers are killed at once:
    their work files keep every committed chunk for the next run.
    """
    left = {job.sha256: job for job in jobs}
    deaths: Counter[str] = Counter()
    while left:
        started = time.time()
        before = set(multiprocessing.active_children())
        pool = ProcessPoolExecutor(
            min(workers, len(left)),
            multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(str(model_dir), params, smoothing),
        )
        try:
            futures: dict[Future, Job] = {pool.submit(_analyse, job): job for job in left.values()}
            pending = set(futures)
            while pending:
                finished, pending = wait(pending, timeout=POLL_S, return_when=FIRST_COMPLETED)
                for future in finished:
                    job = futures[future]
                    done = future.result()  # BrokenProcessPool when a worker died
                    del left[job.sha256]
                    yield done
                if on_running:
                    on_running([futures[f] for f in pending if f.running()])
        except BrokenProcessPool:
            touched = [j for j in left.values() if _touched_since(j, started)]
            if not touched:  # died before analysing anything: the workers cannot start (their error is above)
                raise EngineError(
                    "the worker processes stopped before analysing anything; see the error above, or try --workers 0"
                ) from None
            for job in touched:
                deaths[job.sha256] += 1
                if deaths[job.sha256] >= MAX_WORKER_DEATHS:
                    del left[job.sha256]
                    yield JobDone(
                        job.sha256,
                        f"{job.path}: the worker process analysing it died {MAX_WORKER_DEATHS} times (killed, out of memory, "
                        "or a crash in the decoder?); its finished part is kept: run the same command again to retry",
                    )
            pool.shutdown(wait=True)
        except BaseException:  # Ctrl-C, or the caller stopped listening: stop now, not after the videos in hand
            _kill(pool, before)
            raise
        else:
            pool.shutdown(wait=True)


def _touched_since(job: Job, since: float) -> bool:
    """Was this job's work file written since `since` (i.e. was it being analysed)?"""
    times = [Path(f"{job.work_path}{s}").stat().st_mtime for s in ("", "-wal") if Path(f"{job.work_path}{s}").exists()]
    return bool(times) and max(times) >= since - 1


def _kill(pool: ProcessPoolExecutor, before: set) -> None:
    """Kill this pool's workers at once (their work files keep what they committed) and let the pool go."""
    for process in set(multiprocessing.active_children()) - before:
        process.kill()
    pool.shutdown(wait=True, cancel_futures=True)
