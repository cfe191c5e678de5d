"""A worker's job: analyse one video into its own SQLite work file, with models loaded once per worker.

The work file is a store of its own (same schema, laughvid.store), named by the video's content and
the analysis key, under the store's folder: an analysis killed part-way leaves its committed chunks
there and the next run resumes from them, whichever worker gets the video. Nothing but the worker
writes it until it is finished; then the one writer imports it (laughvid.engine.merge).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path

from laughvid import store
from laughvid.errors import VideoError
from laughvid.pipeline.analyze import AnalysisParams, ProgressFn, Scorer, analyze_video
from laughvid.pipeline.decode import set_decode_threads
from laughvid.pipeline.segments import SmoothingParams


@dataclass(frozen=True)
class Job:
    """One distinct content to analyse (duplicates under other names are not jobs of their own)."""

    sha256: str
    path: str  # the file to read (absolute; on a cluster, the same path on every node)
    duration_s: float
    work_path: str  # its work file


@dataclass(frozen=True)
class JobDone:
    """What a worker hands back: the work file holds the analysis (or its committed part and why it stopped)."""

    sha256: str
    error: str | None = None  # a message for the user; None = analysed
    resumed_from_s: float | None = None  # the video time a previous, interrupted run had reached
    data: bytes | None = None  # the work file's bytes, when the writer may not see the worker's disk (Ray)


def work_file_name(sha256: str, model_version: str, params: AnalysisParams) -> str:
    """`<sha256>.<key>.sqlite`: one file per analysis key (content, model, parameters)."""
    return f"{sha256}.{store.params_hash({'model': model_version, 'params': params.as_dict()})}.sqlite"


class Analyser:
    """A worker's models, loaded once: one per worker process or actor (or the parent's own, for --workers 0)."""

    def __init__(self, classifier: Scorer, params: AnalysisParams, smoothing: SmoothingParams) -> None:
        self.classifier, self.params, self.smoothing = classifier, params, smoothing

    @classmethod
    def load(cls, model_dir: str | Path, params: AnalysisParams, smoothing: SmoothingParams) -> Analyser:
        """For a worker: one decode thread; the models' ONNX sessions are single-threaded (the
        face models are the pipeline's own per-process ones, made on the first video)."""
        from laughvid.lifecycle.registry import load_classifier

        set_decode_threads(1)
        return cls(load_classifier(Path(model_dir), threads=1), params, smoothing)

    def analyse(self, job: Job, return_data: bool = False, progress: ProgressFn | None = None) -> JobDone:
        """Analyse (or resume) `job` into its work file; errors come back as a message, never raised.

        `return_data`: hand back the file's bytes (the writer is elsewhere) and delete a finished one
        (an unfinished one stays on this machine for resume).
        """
        work = Path(job.work_path)
        work.parent.mkdir(parents=True, exist_ok=True)
        conn = store.open_store(work)
        resumed = _resume_point(conn)
        try:
            analyze_video(job.path, conn, self.classifier, self.params, self.smoothing, progress, sha256=job.sha256)
            error = None
        except VideoError as exc:
            error = str(exc)
        except Exception as exc:  # one broken file must not stop the library; the committed part stays for resume
            error = f"{job.path}: analysis failed: {type(exc).__name__}: {exc}"
        finally:
            with contextlib.suppress(Exception):
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the whole analysis in the main file
            conn.close()
        data = None
        if return_data:
            data = work.read_bytes()
            if error is None:
                remove_work_file(work)
        return JobDone(job.sha256, error, resumed, data)


def _resume_point(conn) -> float | None:
    """Where an earlier, interrupted analysis in this work file stopped (None: a fresh start)."""
    row = conn.execute("SELECT resume_json FROM analyses WHERE status != 'done' AND resume_json IS NOT NULL").fetchone()
    return json.loads(row[0]).get("last_time_s") if row else None


def remove_work_file(path: str | Path) -> None:
    """The work file and SQLite's companions (-wal, -shm)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
