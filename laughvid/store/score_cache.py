"""The score cache and its records: videos (by content hash), analyses, per-frame face scores, segments.

Each chunk of the score cache is committed in one transaction together with the state needed to
resume after it, so a killed analysis loses at most one chunk and resumes from the last committed
time. A finished analysis stays finished whatever another run of the same video does.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from laughvid.clock import now_iso
from laughvid.types import ScoreCache, Segment, VideoInfo


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def params_hash(params: dict) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class AnalysisRecord:
    """One analysis of one video with one model and one set of analysis parameters."""

    id: int
    video_id: int
    sha256: str
    path: str
    info: VideoInfo
    model_version: str
    params: dict
    status: str  # running | done | failed
    progress: float  # 0..1
    resume: dict | None
    warnings: list[str]
    error: str | None
    started_at: str
    finished_at: str | None
    size_bytes: int | None = None  # the file's size and mtime when hashed (None: analysed before they were kept)
    mtime_ns: int | None = None

    @property
    def name(self) -> str:
        return Path(self.path).name

    @property
    def fingerprint(self) -> str:
        """The analysis settings' hash: raw track ids depend on them, so consent links and fine-tune crops
        record it, and a link matches a crop only when both name the same one."""
        return params_hash(self.params)


_RECORD_SQL = """
SELECT a.id, v.id, v.sha256, v.path, v.info_json, a.model_version, a.params_json, a.status, a.progress,
       a.resume_json, a.warnings_json, a.error, a.started_at, a.finished_at, v.size_bytes, v.mtime_ns
FROM analyses a JOIN videos v ON v.id = a.video_id
"""


def _record(row) -> AnalysisRecord:
    return AnalysisRecord(
        id=row[0],
        video_id=row[1],
        sha256=row[2],
        path=row[3],
        info=VideoInfo(**json.loads(row[4])),
        model_version=row[5],
        params=json.loads(row[6]),
        status=row[7],
        progress=row[8],
        resume=json.loads(row[9]) if row[9] else None,
        warnings=json.loads(row[10]),
        error=row[11],
        started_at=row[12],
        finished_at=row[13],
        size_bytes=row[14],
        mtime_ns=row[15],
    )


def upsert_video(conn: sqlite3.Connection, sha256: str, info: VideoInfo, size_bytes: int | None = None, mtime_ns: int | None = None) -> int:
    """The video's id; a file seen before under another path keeps its id and gets the new path (and
    the size and mtime it had when hashed)."""
    with conn:
        conn.execute(
            "INSERT INTO videos (sha256, path, name, info_json, added_at, size_bytes, mtime_ns) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (sha256) DO UPDATE SET path = excluded.path, name = excluded.name, info_json = excluded.info_json, "
            "size_bytes = excluded.size_bytes, mtime_ns = excluded.mtime_ns",
            (sha256, info.path, Path(info.path).name, json.dumps(asdict(info)), now_iso(), size_bytes, mtime_ns),
        )
    return conn.execute("SELECT id FROM videos WHERE sha256 = ?", (sha256,)).fetchone()[0]


def relink_video(conn: sqlite3.Connection, video_id: int, path: str, size_bytes: int, mtime_ns: int) -> None:
    """Record where a video's file (checked by content) is now, and its size and mtime there."""
    with conn:
        conn.execute(
            "UPDATE videos SET path = ?, name = ?, info_json = json_set(info_json, '$.path', ?), size_bytes = ?, mtime_ns = ? WHERE id = ?",
            (path, Path(path).name, path, size_bytes, mtime_ns, video_id),
        )


def get_analysis(conn: sqlite3.Connection, analysis_id: int) -> AnalysisRecord | None:
    row = conn.execute(_RECORD_SQL + " WHERE a.id = ?", (analysis_id,)).fetchone()
    return _record(row) if row else None


def find_analysis(conn: sqlite3.Connection, video_id: int, model_version: str, p_hash: str) -> AnalysisRecord | None:
    row = conn.execute(
        _RECORD_SQL + " WHERE a.video_id = ? AND a.model_version = ? AND a.params_hash = ?", (video_id, model_version, p_hash)
    ).fetchone()
    return _record(row) if row else None


def list_analyses(conn: sqlite3.Connection, status: str | None = None) -> list[AnalysisRecord]:
    """All analyses, newest first (optionally only those with `status`)."""
    where, args = (" WHERE a.status = ?", (status,)) if status else ("", ())
    return [_record(r) for r in conn.execute(_RECORD_SQL + where + " ORDER BY a.started_at DESC, a.id DESC", args)]


class AnalysisDone(Exception):
    """Another run finished this analysis while this one was still running: use its result."""


def start_analysis(conn: sqlite3.Connection, video_id: int, model_version: str, params: dict) -> AnalysisRecord:
    """The analysis row to run: a new one, the existing one (to resume), or a finished one, untouched.

    A finished analysis stays finished whatever another run does: the caller serves its result.
    """
    p_hash = params_hash(params)
    with conn:
        conn.execute(
            "INSERT INTO analyses (video_id, model_version, params_hash, params_json, status, started_at) "
            "VALUES (?, ?, ?, ?, 'running', ?) ON CONFLICT (video_id, model_version, params_hash) "
            "DO UPDATE SET status = 'running', error = NULL WHERE analyses.status != 'done'",
            (video_id, model_version, p_hash, json.dumps(params, sort_keys=True), now_iso()),
        )
    return find_analysis(conn, video_id, model_version, p_hash)


_FACE_COLUMNS = 12  # per face row, as save_chunk takes them


def save_chunk(
    conn: sqlite3.Connection, analysis_id: int, frame_times: np.ndarray, rows: list[tuple], resume: dict, progress: float
) -> None:
    """Commit one chunk of the score cache and the state to resume after it, atomically.

    `rows` are (time_s, track_id, x0, y0, x1, y1, confidence, prob, detected, cnn_prob, geometry, intensity)
    (the last three None or left out where unknown). Raises AnalysisDone, writing nothing, once another run has
    finished the analysis.
    """
    with conn:
        updated = conn.execute(
            "UPDATE analyses SET resume_json = ?, progress = ? WHERE id = ? AND status != 'done'",
            (json.dumps(resume), float(progress), analysis_id),
        )
        if updated.rowcount == 0:
            raise AnalysisDone(analysis_id)
        conn.executemany(
            "INSERT OR REPLACE INTO frames (analysis_id, time_s) VALUES (?, ?)", [(analysis_id, float(t)) for t in frame_times]
        )
        conn.executemany(
            "INSERT OR REPLACE INTO face_scores (analysis_id, time_s, track_id, x0, y0, x1, y1, confidence, prob, detected, "
            "cnn_prob, geometry, intensity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(analysis_id, *row, *(None,) * (_FACE_COLUMNS - len(row))) for row in rows],
        )


def finish_analysis(conn: sqlite3.Connection, analysis_id: int, warnings: list[str]) -> None:
    """Mark done and summarise tracks from the cache."""
    with conn:
        conn.execute("DELETE FROM tracks WHERE analysis_id = ?", (analysis_id,))
        conn.execute(
            "INSERT INTO tracks (analysis_id, track_id, start_s, end_s, n_frames, mean_prob, max_prob) "
            "SELECT analysis_id, track_id, MIN(time_s), MAX(time_s), COUNT(*), AVG(prob), MAX(prob) "
            "FROM face_scores WHERE analysis_id = ? GROUP BY track_id",
            (analysis_id,),
        )
        conn.execute(
            "UPDATE analyses SET status = 'done', progress = 1, warnings_json = ?, finished_at = ? WHERE id = ?",
            (json.dumps(warnings), now_iso(), analysis_id),
        )


def fail_analysis(conn: sqlite3.Connection, analysis_id: int, error: str) -> None:
    """Keep the committed chunks (resume uses them) and say why it stopped; a finished analysis
    (finished by another run meanwhile) stays finished."""
    with conn:
        conn.execute(
            "UPDATE analyses SET status = 'failed', error = ?, finished_at = ? WHERE id = ? AND status != 'done'",
            (error, now_iso(), analysis_id),
        )


def load_cache(conn: sqlite3.Connection, analysis_id: int) -> ScoreCache:
    frame_times = np.array(
        [r[0] for r in conn.execute("SELECT time_s FROM frames WHERE analysis_id = ? ORDER BY time_s", (analysis_id,))], np.float64
    )
    rows = conn.execute(
        "SELECT time_s, track_id, x0, y0, x1, y1, confidence, prob, detected, COALESCE(cnn_prob, prob), geometry, intensity "
        "FROM face_scores WHERE analysis_id = ? ORDER BY time_s, track_id",
        (analysis_id,),
    ).fetchall()
    table = np.array(rows, np.float64).reshape(-1, 12)  # NULL reads as NaN
    return ScoreCache(
        frame_times_s=frame_times,
        times_s=table[:, 0],
        track_ids=table[:, 1].astype(np.int64),
        boxes=table[:, 2:6],
        confidences=table[:, 6],
        probs=table[:, 7],
        detected=table[:, 8].astype(bool),
        cnn_probs=table[:, 9],
        geometry=table[:, 10],
        intensity=table[:, 11],
    )


def save_segments(conn: sqlite3.Connection, analysis_id: int, smoothing_hash: str, segments: list[Segment]) -> None:
    with conn:
        conn.execute("DELETE FROM segments WHERE analysis_id = ? AND smoothing_hash = ?", (analysis_id, smoothing_hash))
        conn.executemany(
            "INSERT INTO segments (analysis_id, smoothing_hash, start_s, end_s, peak_prob, mean_prob, track_ids, peak_intensity) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (analysis_id, smoothing_hash, s.start_s, s.end_s, s.peak_prob, s.mean_prob, json.dumps(list(s.track_ids)), s.peak_intensity)
                for s in segments
            ],
        )


def load_segments(conn: sqlite3.Connection, analysis_id: int, smoothing_hash: str) -> list[Segment]:
    """Segments saved for these smoothing parameters (they are cheap to recompute from the cache)."""
    rows = conn.execute(
        "SELECT start_s, end_s, peak_prob, mean_prob, track_ids, peak_intensity FROM segments "
        "WHERE analysis_id = ? AND smoothing_hash = ? ORDER BY start_s",
        (analysis_id, smoothing_hash),
    ).fetchall()
    return [Segment(a, b, p, m, tuple(json.loads(t)), peak_intensity=i) for a, b, p, m, t, i in rows]
