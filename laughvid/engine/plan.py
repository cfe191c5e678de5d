"""Before any decoding: which files are videos, what each one's content is, and what is left to do.

Each file is probed (a file that is not a readable video fails here, with the reason) and hashed;
a file the store saw at the same path with the same size and mtime keeps its recorded hash (a stat
instead of reading gigabytes). A content already analysed with this model and these parameters is
cached, wherever it lies now; a content named twice (a copy under another name) becomes one job.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from laughvid import store
from laughvid.engine.worker import Job, work_file_name
from laughvid.errors import VideoError
from laughvid.pipeline.analyze import AnalysisParams
from laughvid.pipeline.decode import probe
from laughvid.store.video_identity import FileStamp
from laughvid.types import VideoInfo


@dataclass(frozen=True)
class PlannedFile:
    """One input file: its content and metadata, or why it cannot be analysed."""

    path: Path  # as the user named it
    sha256: str | None = None
    info: VideoInfo | None = None
    stamp: FileStamp | None = None
    error: str | None = None
    cached: bool = False  # analysed before with this model and parameters


@dataclass
class LibraryPlan:
    files: list[PlannedFile]
    jobs: list[Job] = field(default_factory=list)  # one per content left to analyse, in file order

    @property
    def seconds_to_analyse(self) -> float:
        return sum(j.duration_s for j in self.jobs)


def plan_library(
    conn: sqlite3.Connection, paths: Iterable[Path], model_version: str, params: AnalysisParams, work_dir: Path
) -> LibraryPlan:
    """Probe and hash `paths` (read-only on the store) and list the jobs, one per content not yet analysed."""
    plan = LibraryPlan([])
    queued: set[str] = set()
    p_hash = store.params_hash(params.as_dict())
    for path in paths:
        try:
            info = probe(Path(path).resolve())  # the path every worker and every export reads
            stamp = FileStamp.of(info.path)
            sha = _known_sha256(conn, info.path, stamp) or store.file_sha256(info.path)
        except VideoError as exc:
            plan.files.append(PlannedFile(path, error=str(exc)))
            continue
        except OSError as exc:  # vanished or unreadable since it was listed
            plan.files.append(PlannedFile(path, error=f"{path}: cannot be read ({exc.strerror or exc})"))
            continue
        cached = _analysed(conn, sha, model_version, p_hash)
        plan.files.append(PlannedFile(path, sha, info, stamp, cached=cached))
        if not cached and sha not in queued:
            queued.add(sha)
            plan.jobs.append(Job(sha, info.path, info.duration_s, str(work_dir / work_file_name(sha, model_version, params))))
    return plan


def _known_sha256(conn: sqlite3.Connection, path: str, stamp: FileStamp) -> str | None:
    row = conn.execute(
        "SELECT sha256 FROM videos WHERE path = ? AND size_bytes = ? AND mtime_ns = ?", (path, stamp.size_bytes, stamp.mtime_ns)
    ).fetchone()
    return row[0] if row else None


def _analysed(conn: sqlite3.Connection, sha256: str, model_version: str, p_hash: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM analyses a JOIN videos v ON v.id = a.video_id "
        "WHERE v.sha256 = ? AND a.model_version = ? AND a.params_hash = ? AND a.status = 'done'",
        (sha256, model_version, p_hash),
    ).fetchone()
    return row is not None
