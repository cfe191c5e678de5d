"""Import a worker's finished work file into the store: the one writer's step, one transaction per video.

Column-generic on purpose: every table with an `analysis_id` column is copied by the column names
both files have, so a migration that adds a column (or a table keyed by analysis) needs no change
here. The video row is the writer's own (it recorded the file before dispatching); the analysis row
replaces an unfinished one of the same key (an earlier in-process run's) with its rows, never a
finished one.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from laughvid.errors import StoreError

_ALIAS = "work"


def merge_work_file(conn: sqlite3.Connection, work_path: str | Path) -> int:
    """Copy the (only) analysis of `work_path` into the store behind `conn`; returns its id there.

    The analysis is imported whatever its status: a failed one brings its reason (and the chunks it
    had committed) so `laughvid library --failed` can show it. Raises StoreError when the store
    lacks the video row (the writer records a video before dispatching it).
    """
    conn.commit()
    conn.execute(f"ATTACH DATABASE ? AS {_ALIAS}", (str(Path(work_path).resolve()),))
    try:
        with conn:
            return _copy(conn)
    finally:
        conn.execute(f"DETACH DATABASE {_ALIAS}")


def _copy(conn: sqlite3.Connection) -> int:
    (work_id, sha256, model_version, params_hash) = conn.execute(
        f"SELECT a.id, v.sha256, a.model_version, a.params_hash FROM {_ALIAS}.analyses a JOIN {_ALIAS}.videos v ON v.id = a.video_id"
    ).fetchone()
    row = conn.execute("SELECT id FROM main.videos WHERE sha256 = ?", (sha256,)).fetchone()
    if row is None:
        raise StoreError(f"the store has no video {sha256[:12]}… to import its analysis into (record the video first)")
    video_id = row[0]
    existing = conn.execute(
        "SELECT id, status FROM main.analyses WHERE video_id = ? AND model_version = ? AND params_hash = ?",
        (video_id, model_version, params_hash),
    ).fetchone()
    if existing and existing[1] == "done":
        return existing[0]  # finished meanwhile by another run: it stays as it is
    columns = [c for c in _columns(conn, "analyses") if c not in ("id", "video_id")]
    names = ", ".join(f'"{c}"' for c in columns)
    if existing:
        analysis_id = existing[0]
        for table in _analysis_tables(conn):
            conn.execute(f'DELETE FROM main."{table}" WHERE analysis_id = ?', (analysis_id,))
        conn.execute(
            f"UPDATE main.analyses SET ({names}) = (SELECT {names} FROM {_ALIAS}.analyses WHERE id = ?) WHERE id = ?",
            (work_id, analysis_id),
        )
    else:
        analysis_id = conn.execute(
            f"INSERT INTO main.analyses (video_id, {names}) SELECT ?, {names} FROM {_ALIAS}.analyses WHERE id = ?", (video_id, work_id)
        ).lastrowid
    for table in _analysis_tables(conn):
        copied = [c for c in _columns(conn, table, copy_only=True) if c != "analysis_id"]
        cols = ", ".join(f'"{c}"' for c in copied)
        conn.execute(
            f'INSERT INTO main."{table}" (analysis_id, {cols}) SELECT ?, {cols} FROM {_ALIAS}."{table}" WHERE analysis_id = ?',
            (analysis_id, work_id),
        )
    return analysis_id


def _columns(conn: sqlite3.Connection, table: str, copy_only: bool = False) -> list[str]:
    """The columns `table` has in both files; `copy_only` leaves out a rowid alias (INTEGER PRIMARY KEY: the store numbers rows)."""

    def info(schema: str) -> list[tuple]:
        return conn.execute(f'PRAGMA {schema}.table_info("{table}")').fetchall()

    main, work = info("main"), {c[1] for c in info(_ALIAS)}
    rowid_alias = [c[1] for c in main if c[5] and c[2].upper() == "INTEGER"] if sum(c[5] > 0 for c in main) == 1 else []
    return [c[1] for c in main if c[1] in work and not (copy_only and c[1] in rowid_alias)]


def _analysis_tables(conn: sqlite3.Connection) -> list[str]:
    """Tables of both files whose rows belong to an analysis (frames, face scores, tracks, segments, and any added later)."""
    names = [r[0] for r in conn.execute(f"SELECT name FROM {_ALIAS}.sqlite_master WHERE type = 'table' AND name != 'analyses'")]
    return [t for t in names if "analysis_id" in _columns(conn, t)]
