"""The SQLite store: videos (by content hash), analyses, per-frame score caches, tracks, segments.

Why SQLite: embedded, one file, safe for the CLI and the UI side by side (WAL mode lets readers
see committed chunks while an analysis writes). The score cache is written in chunks as batches
finish, each chunk in one transaction together with the resume state, so a killed analysis loses
at most one chunk and resumes from the last committed time.

Schema changes are an ordered list of migrations applied once each (tracked by
`PRAGMA user_version`). Other modules APPEND their own (version, sql) pairs to `MIGRATIONS`;
never edit or reorder an applied one. Before migrating a store that holds data, a backup of it is
written beside it (laughvid.vOLD-to-vNEW.<time>.sqlite).

A store file is trusted only once it passes laughvid.store_file's checks: a new store is created
only where no file exists; anything else that is not a healthy store is refused with a StoreError
saying what to do, and the file is left untouched.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from laughvid import registry, review, store_file
from laughvid.config import Settings
from laughvid.store_file import StoreError
from laughvid.types import ScoreCache, Segment, VideoInfo

_PIPELINE_SCHEMA = """
CREATE TABLE videos (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL,              -- where it was last seen
    name TEXT NOT NULL,
    info_json TEXT NOT NULL,         -- VideoInfo
    added_at TEXT NOT NULL
);
CREATE TABLE analyses (
    id INTEGER PRIMARY KEY,
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    model_version TEXT NOT NULL,
    params_hash TEXT NOT NULL,
    params_json TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    progress REAL NOT NULL DEFAULT 0,
    resume_json TEXT,                -- tracker state and last committed frame time
    warnings_json TEXT NOT NULL DEFAULT '[]',
    error TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    UNIQUE (video_id, model_version, params_hash)
);
CREATE TABLE frames (
    analysis_id INTEGER NOT NULL REFERENCES analyses(id) ON DELETE CASCADE,
    time_s REAL NOT NULL,
    PRIMARY KEY (analysis_id, time_s)
) WITHOUT ROWID;
CREATE TABLE face_scores (
    analysis_id INTEGER NOT NULL REFERENCES analyses(id) ON DELETE CASCADE,
    time_s REAL NOT NULL,
    track_id INTEGER NOT NULL,
    x0 REAL NOT NULL, y0 REAL NOT NULL, x1 REAL NOT NULL, y1 REAL NOT NULL,
    confidence REAL NOT NULL,
    prob REAL NOT NULL,
    detected INTEGER NOT NULL,
    PRIMARY KEY (analysis_id, time_s, track_id)
) WITHOUT ROWID;
CREATE TABLE tracks (
    analysis_id INTEGER NOT NULL REFERENCES analyses(id) ON DELETE CASCADE,
    track_id INTEGER NOT NULL,
    start_s REAL NOT NULL,
    end_s REAL NOT NULL,
    n_frames INTEGER NOT NULL,
    mean_prob REAL NOT NULL,
    max_prob REAL NOT NULL,
    PRIMARY KEY (analysis_id, track_id)
);
CREATE TABLE segments (
    id INTEGER PRIMARY KEY,
    analysis_id INTEGER NOT NULL REFERENCES analyses(id) ON DELETE CASCADE,
    smoothing_hash TEXT NOT NULL,
    start_s REAL NOT NULL,
    end_s REAL NOT NULL,
    peak_prob REAL NOT NULL,
    mean_prob REAL NOT NULL,
    track_ids TEXT NOT NULL           -- JSON list
);
CREATE INDEX segments_by_analysis ON segments (analysis_id, smoothing_hash);
"""

# Ordered (version, sql). Append only.
MIGRATIONS: list[tuple[int, str]] = [
    (1, _PIPELINE_SCHEMA),
    (2, review.SCHEMA_SQL),  # UI: review state and undo log
    (3, registry.SCHEMA_SQL),  # LOOP: model versions, activations, consent registry
    # Export integrity: size and mtime of the file when it was hashed (laughvid.video_identity's fast path).
    (4, "ALTER TABLE videos ADD COLUMN size_bytes INTEGER; ALTER TABLE videos ADD COLUMN mtime_ns INTEGER;"),
]

LOCK_TIMEOUT_S = 30.0  # how long opening waits for another process's write transaction

# A store up to this size gets `PRAGMA quick_check` when a process first opens it. Measured on a
# 5.5 MB store with 100k face_scores rows (about 1 h of video at 10 fps with 3 faces), 2-core dev box:
# quick_check 40 ms (integrity_check 43 ms), first open 49 ms, later opens 1.5 ms. Both checks grow
# with the file, so bigger stores skip it on open (the header and size checks still run: ~0.1 ms)
# and `laughvid store check` runs the full `PRAGMA integrity_check` on demand.
QUICK_CHECK_MAX_BYTES = 32 << 20
_quick_checked: set[tuple[int, int]] = set()  # (device, inode) of store files checked in this process


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def open_store(path: str | Path | None = None) -> sqlite3.Connection:
    """Open and migrate the store (None = the configured default path), creating it only where no file is.

    Raises StoreError, leaving the file as it was, for a file that is not a healthy laughvid store
    (empty, garbage, truncated, failing its quick check, not laughvid's, newer schema) or that
    laughvid may not use now (read-only file or folder, locked past LOCK_TIMEOUT_S).
    """
    if str(path) == ":memory:":
        conn = sqlite3.connect(":memory:")
        conn.execute("PRAGMA foreign_keys=ON")
        migrate(conn)
        return conn
    path = Path(path) if path is not None else Settings.from_env().store_path
    if not os.path.lexists(path):
        store_file.refuse_orphan_wal(path)
        store_file.build_new(path, migrate)  # False: another process created it first, fine
    if problem := store_file.file_damage(path):
        raise store_file.damaged(path, problem)
    store_file.refuse_read_only(path)
    # mode=rw: if the file vanished since the checks, fail instead of creating an empty one
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=LOCK_TIMEOUT_S)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        _quick_check_once(conn, path)
        migrate(conn)
    except sqlite3.Error as exc:
        conn.close()
        raise store_file.explain(path, exc, LOCK_TIMEOUT_S) from None
    except BaseException:
        conn.close()
        raise
    return conn


def _quick_check_once(conn: sqlite3.Connection, path: Path) -> None:
    """`PRAGMA quick_check` the first time this process opens a store file up to QUICK_CHECK_MAX_BYTES."""
    st = path.stat()
    if st.st_size > QUICK_CHECK_MAX_BYTES or (st.st_dev, st.st_ino) in _quick_checked:
        return
    problems = [row[0] for row in conn.execute("PRAGMA quick_check(5)")]
    if problems != ["ok"]:
        raise store_file.damaged(path, "is damaged (SQLite's quick check: " + "; ".join(problems) + ")")
    _quick_checked.add((st.st_dev, st.st_ino))


def _statements(sql: str) -> list[str]:
    """Split a script into complete statements (a ';' inside a string or trigger body stays put)."""
    out, buffer = [], ""
    for piece in sql.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \n\t;"):
                out.append(buffer)
            buffer = ""
    return out


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the migrations newer than the file's version, all in one write transaction.

    The version is read after taking the write lock (BEGIN IMMEDIATE), so two processes opening a
    new store at once (UI and CLI) cannot both apply the same migration. A store with data
    (version > 0) is first backed up beside itself, under that lock, so the backup is exactly the
    store the migration started from.
    """
    known = max(v for v, _ in MIGRATIONS)
    previous_isolation = conn.isolation_level
    conn.isolation_level = None  # explicit transaction control below
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            path = _file_of(conn)
            if current > known:
                raise StoreError(f"the store {path or ''} was written by a newer laughvid (schema version {current}; this one "
                                 f"knows up to {known}). Upgrade laughvid, or point LAUGHVID_HOME / --store elsewhere.")  # fmt: skip
            if current == 0 and (tables := _table_names(conn)):
                raise StoreError(f"{path} is a SQLite database but not a laughvid store (it holds {', '.join(tables[:5])}). "
                                 "Point LAUGHVID_HOME / --store at another file.")  # fmt: skip
            if 0 < current < known and path:  # read by a second connection: SQLite cannot back up from one that holds a write lock
                with contextlib.closing(sqlite3.connect(path)) as reader:
                    store_file.backup(reader, store_file.backup_path(path, f"v{current}-to-v{known}"))
            for version, sql in sorted(MIGRATIONS):
                if version > current:
                    for statement in _statements(sql):
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {int(version)}")
                    current = version
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.isolation_level = previous_isolation
    return current


def _file_of(conn: sqlite3.Connection) -> Path | None:
    """The main database file behind `conn` (None in memory)."""
    name = next(row[2] for row in conn.execute("PRAGMA database_list") if row[1] == "main")
    return Path(name) if name else None


def _table_names(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]


@dataclass
class StoreReport:
    """What `check` found in a store (or a backup) file."""

    path: Path
    size_bytes: int
    schema_version: int | None  # None when unreadable
    rows: dict[str, int]  # per table
    problems: list[str]  # empty = a healthy laughvid store

    @property
    def healthy(self) -> bool:
        return not self.problems


def check(path: str | Path) -> StoreReport:
    """Run SQLite's full `PRAGMA integrity_check` on a store file and count its rows, changing nothing
    (read-only files can be checked). Raises StoreError only when there is no such file."""
    path = Path(path)
    if not path.exists():
        raise StoreError(f"there is no store {path}")
    report = StoreReport(path, path.stat().st_size, None, {}, [])
    if problem := store_file.file_damage(path):
        report.problems.append(problem)
        return report
    try:
        with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=LOCK_TIMEOUT_S)) as conn:
            report.problems += [f"integrity check: {row[0]}" for row in conn.execute("PRAGMA integrity_check(20)") if row[0] != "ok"]
            report.schema_version = version = conn.execute("PRAGMA user_version").fetchone()[0]
            known = max(v for v, _ in MIGRATIONS)
            if version == 0:
                report.problems.append("not a laughvid store (schema version 0)")
            elif version > known:
                report.problems.append(f"schema version {version} is newer than this laughvid ({known})")
            report.rows = {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in _table_names(conn)}
    except sqlite3.Error as exc:
        report.problems.append(f"SQLite: {exc}")
    return report


def backup(path: str | Path | None = None, target: str | Path | None = None) -> Path:
    """Copy the store (None = the default) with SQLite's online backup API, safe while others write.

    `target` None = laughvid.backup.<UTC time>.sqlite beside the store; an existing file is refused.
    """
    path = Path(path) if path is not None else Settings.from_env().store_path
    if not os.path.lexists(path):
        raise StoreError(f"there is no store {path} to back up")
    with contextlib.closing(open_store(path)) as conn:
        return store_file.backup(conn, Path(target) if target is not None else store_file.backup_path(path, "backup"))


def restore(backup_file: str | Path, path: str | Path | None = None) -> Path | None:
    """Make the store (None = the default) a copy of `backup_file`; returns where the previous store went.

    The backup must pass `check`. A healthy current store is first backed up beside itself
    (laughvid.before-restore.<time>.sqlite), then overwritten through the online backup API in one
    transaction, so a UI or CLI that has it open sees the old store or the restored one, never a
    mix. A damaged current store is renamed aside (laughvid.damaged.<time>.sqlite), never deleted.
    An older backup is migrated on the way in (after its own pre-migration backup).
    """
    backup_file = Path(backup_file)
    path = Path(path) if path is not None else Settings.from_env().store_path
    report = check(backup_file)
    if not report.healthy:
        raise StoreError(f"the backup {backup_file} is not a healthy laughvid store ({'; '.join(report.problems)}); "
                         "the store was not changed. Choose another backup (`laughvid store check FILE` checks one).")  # fmt: skip
    kept = None
    try:
        with contextlib.closing(sqlite3.connect(f"{backup_file.resolve().as_uri()}?mode=ro", uri=True)) as source:
            conn = _open_unless_damaged(path) if os.path.lexists(path) else None
            if conn is not None:
                with contextlib.closing(conn):
                    kept = store_file.backup(conn, store_file.backup_path(path, "before-restore"))
                    source.backup(conn)
                    migrate(conn)
                return kept
            kept = store_file.move_aside(path) if os.path.lexists(path) else None
            if not store_file.build_new(path, source.backup):
                raise StoreError(f"another process created {path} during the restore; nothing was replaced. Run it again.")
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"the restore failed ({exc}); the previous store is {f'kept at {kept}' if kept else 'unchanged'}.") from None
    open_store(path).close()  # migrates an older backup
    return kept


def _open_unless_damaged(path: Path) -> sqlite3.Connection | None:
    """The store, or None when it is damaged; a store laughvid may not use now (locked, read-only) is refused."""
    try:
        return open_store(path)
    except StoreError as exc:
        if exc.damaged:
            return None
        raise


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


_RECORD_SQL = """
SELECT a.id, v.id, v.sha256, v.path, v.info_json, a.model_version, a.params_json, a.status, a.progress,
       a.resume_json, a.warnings_json, a.error, a.started_at, a.finished_at, v.size_bytes, v.mtime_ns
FROM analyses a JOIN videos v ON v.id = a.video_id
"""


def _record(row) -> AnalysisRecord:
    return AnalysisRecord(
        id=row[0], video_id=row[1], sha256=row[2], path=row[3], info=VideoInfo(**json.loads(row[4])),
        model_version=row[5], params=json.loads(row[6]), status=row[7], progress=row[8],
        resume=json.loads(row[9]) if row[9] else None, warnings=json.loads(row[10]), error=row[11],
        started_at=row[12], finished_at=row[13], size_bytes=row[14], mtime_ns=row[15],
    )  # fmt: skip


def upsert_video(
    conn: sqlite3.Connection, sha256: str, info: VideoInfo, size_bytes: int | None = None, mtime_ns: int | None = None
) -> int:
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
            "UPDATE videos SET path = ?, name = ?, info_json = json_set(info_json, '$.path', ?), size_bytes = ?, mtime_ns = ? "
            "WHERE id = ?",
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


def save_chunk(
    conn: sqlite3.Connection, analysis_id: int, frame_times: np.ndarray, rows: list[tuple], resume: dict, progress: float
) -> None:
    """Commit one chunk of the score cache and the state to resume after it, atomically.

    `rows` are (time_s, track_id, x0, y0, x1, y1, confidence, prob, detected). Raises AnalysisDone,
    writing nothing, once another run has finished the analysis.
    """
    with conn:
        updated = conn.execute(
            "UPDATE analyses SET resume_json = ?, progress = ? WHERE id = ? AND status != 'done'",
            (json.dumps(resume), float(progress), analysis_id),
        )
        if updated.rowcount == 0:
            raise AnalysisDone(analysis_id)
        conn.executemany("INSERT OR REPLACE INTO frames (analysis_id, time_s) VALUES (?, ?)", [(analysis_id, float(t)) for t in frame_times])
        conn.executemany(
            "INSERT OR REPLACE INTO face_scores (analysis_id, time_s, track_id, x0, y0, x1, y1, confidence, prob, detected) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(analysis_id, *row) for row in rows],
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
        "SELECT time_s, track_id, x0, y0, x1, y1, confidence, prob, detected FROM face_scores "
        "WHERE analysis_id = ? ORDER BY time_s, track_id",
        (analysis_id,),
    ).fetchall()
    table = np.array(rows, np.float64).reshape(-1, 9)
    return ScoreCache(
        frame_times_s=frame_times,
        times_s=table[:, 0],
        track_ids=table[:, 1].astype(np.int64),
        boxes=table[:, 2:6],
        confidences=table[:, 6],
        probs=table[:, 7],
        detected=table[:, 8].astype(bool),
    )


def save_segments(conn: sqlite3.Connection, analysis_id: int, smoothing_hash: str, segments: list[Segment]) -> None:
    with conn:
        conn.execute("DELETE FROM segments WHERE analysis_id = ? AND smoothing_hash = ?", (analysis_id, smoothing_hash))
        conn.executemany(
            "INSERT INTO segments (analysis_id, smoothing_hash, start_s, end_s, peak_prob, mean_prob, track_ids) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(analysis_id, smoothing_hash, s.start_s, s.end_s, s.peak_prob, s.mean_prob, json.dumps(list(s.track_ids))) for s in segments],
        )


def load_segments(conn: sqlite3.Connection, analysis_id: int, smoothing_hash: str) -> list[Segment]:
    """Segments saved for these smoothing parameters (they are cheap to recompute from the cache)."""
    rows = conn.execute(
        "SELECT start_s, end_s, peak_prob, mean_prob, track_ids FROM segments WHERE analysis_id = ? AND smoothing_hash = ? ORDER BY start_s",
        (analysis_id, smoothing_hash),
    ).fetchall()
    return [Segment(a, b, p, m, tuple(json.loads(t))) for a, b, p, m, t in rows]
