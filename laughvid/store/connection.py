"""Opening the SQLite store safely, migrating it, and checking, backing up and restoring it.

Why SQLite: embedded, one file, safe for the CLI and the UI side by side (WAL mode lets readers
see committed chunks while an analysis writes).

Schema changes are the ordered migrations of laughvid.store.migrations, applied once each (tracked
by `PRAGMA user_version`). Before migrating a store that holds data, a backup of it is written
beside it (laughvid.vOLD-to-vNEW.<time>.sqlite).

A store file is trusted only once it passes laughvid.store.sqlite_file's checks: a new store is
created only where no file exists; anything else that is not a healthy store is refused with a
StoreError saying what to do, and the file is left untouched.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from laughvid.config import Settings
from laughvid.errors import StoreError
from laughvid.store import sqlite_file as store_file
from laughvid.store.migrations import MIGRATIONS

LOCK_TIMEOUT_S = 30.0  # how long opening waits for another process's write transaction

# A store up to this size gets `PRAGMA quick_check` when a process first opens it. Measured on a
# 5.5 MB store with 100k face_scores rows (about 1 h of video at 10 fps with 3 faces), 2-core dev box:
# quick_check 40 ms (integrity_check 43 ms), first open 49 ms, later opens 1.5 ms. Both checks grow
# with the file, so bigger stores skip it on open (the header and size checks still run: ~0.1 ms)
# and `laughvid store check` runs the full `PRAGMA integrity_check` on demand.
QUICK_CHECK_MAX_BYTES = 32 << 20
_quick_checked: set[tuple[int, int]] = set()  # (device, inode) of store files checked in this process


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
                raise StoreError(
                    f"the store {path or ''} was written by a newer laughvid (schema version {current}; this one "
                    f"knows up to {known}). Upgrade laughvid, or point LAUGHVID_HOME / --store elsewhere."
                )
            if current == 0 and (tables := _table_names(conn)):
                raise StoreError(
                    f"{path} is a SQLite database but not a laughvid store (it holds {', '.join(tables[:5])}). "
                    "Point LAUGHVID_HOME / --store at another file."
                )
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
        raise StoreError(
            f"the backup {backup_file} is not a healthy laughvid store ({'; '.join(report.problems)}); "
            "the store was not changed. Choose another backup (`laughvid store check FILE` checks one)."
        )
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
