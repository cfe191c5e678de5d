"""The file under the store: refuse anything that is not a healthy store, create and copy it safely.

Why: the store holds what cannot be recomputed (reviews, consent records, model history). SQLite
itself treats a 0-byte file as an empty database and reports damage only as a bare exception, so
an unlucky file (emptied, truncated, overwritten, read-only, locked) used to be silently re-created
or crash the CLI and the UI. Here every such file is refused with what happened, where, and what
to do, and nothing ever modifies, replaces or deletes a file that already exists:

- a new store appears complete or not at all (built in a temp file beside it, then hard-linked into
  place, which fails instead of replacing a file another process created first);
- copies (backups, restores) use SQLite's online backup API: a consistent snapshot even while the
  UI or an analysis writes, published the same way.

This module knows files and SQLite, not the schema: laughvid.store decides what a laughvid store
holds and calls these.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from laughvid.errors import StoreError

SQLITE_MAGIC = b"SQLite format 3\x00"


def damaged(path: Path, what: str) -> StoreError:
    """A refusal of a damaged store file, with the way out."""
    return StoreError(
        f"the store {path} {what}. laughvid left the file untouched. Restore a backup with "
        f"`laughvid store restore BACKUP --store {path}`{_backups_hint(path)}, or move the file (and any "
        "-wal / -shm beside it) away to start a new, empty store.",
        damaged=True,
    )


def _backups_hint(path: Path) -> str:
    """The newest copy named by `backup_path` for this store (not a damaged store moved aside)."""
    found = [p for p in path.parent.glob(f"{path.stem}.*{path.suffix or '.sqlite'}") if p != path and ".damaged." not in p.name]
    return f" (newest backup beside it: {max(found, key=lambda p: p.stat().st_mtime).name})" if found else ""


def file_damage(path: Path) -> str | None:
    """What is wrong with an existing store file, from its first 100 bytes and its size (no SQLite).

    Catches what SQLite would accept or report without context: a 0-byte file (SQLite's empty
    database), a header that is not SQLite's, and a file shorter than its header says. The length
    is only compared with no -wal or -journal beside it: during a checkpoint by another process the
    header may legitimately run ahead of the file.
    """
    if not path.is_file():
        return "is not a file"
    size = path.stat().st_size
    if size == 0:
        return "is empty (0 bytes): it holds no data, not even an empty store's schema"
    try:
        with open(path, "rb") as f:
            header = f.read(100)
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if not header.startswith(SQLITE_MAGIC):
        return f"is not a SQLite database (its first bytes are {header[:16]!r})"
    if len(header) < 100:
        return f"is truncated ({size} bytes, shorter than a SQLite header)"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    pages_valid = header[24:28] == header[92:96]  # SQLite's rule for trusting the in-header page count
    settled = not any(Path(f"{path}{s}").exists() for s in ("-wal", "-journal"))
    if pages_valid and settled and size < pages * page_size:
        return f"is truncated ({size} bytes of the {pages * page_size} its header promises)"
    return None


def refuse_read_only(path: Path) -> None:
    """Refuse a store laughvid may not write (or whose folder, where SQLite keeps -wal and -shm, it may not).

    Permission bits are honoured even for root, who could write anyway: a store someone made
    read-only is not one laughvid should change.
    """
    folder = path.parent
    if not os.access(path, os.W_OK) or not path.stat().st_mode & 0o222:
        raise StoreError(
            f"the store {path} is read-only (its permissions forbid writing), and laughvid writes analyses, "
            f"reviews and consent records to it. Make it writable (chmod u+w {path}), or point "
            "LAUGHVID_HOME / --store at a writable copy."
        )
    if not os.access(folder, os.W_OK | os.X_OK) or not folder.stat().st_mode & 0o222:
        raise StoreError(
            f"the folder {folder} is read-only, and SQLite must create {path.name}-wal and {path.name}-shm "
            f"beside the store. Make the folder writable (chmod u+w {folder}), or point LAUGHVID_HOME / "
            "--store at a writable place."
        )


def refuse_orphan_wal(path: Path) -> None:
    """Refuse to create a store where the -wal of a moved or deleted one is left: SQLite would
    replay that log into the new file."""
    wal = Path(f"{path}-wal")
    if os.path.lexists(wal):
        raise StoreError(
            f"there is no store {path}, but its write-ahead log {wal.name} is still beside it (was the store "
            f"moved without it?). Move {wal.name} (and {path.name}-shm) to where the store went, or away, "
            "then try again."
        )


def explain(path: Path, exc: sqlite3.Error, timeout_s: float) -> StoreError:
    """A SQLite error met while opening the store, as a message a person can act on."""
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return StoreError(
            f"the store {path} is locked by another program (waited {timeout_s:g} s): another laughvid "
            "(UI or CLI) is writing to it, or a tool holds it open. Close that, or wait, and try again."
        )
    if "readonly" in text or "read-only" in text:
        return StoreError(
            f"the store {path} cannot be written ({exc}): is its disk read-only or full? Point LAUGHVID_HOME / --store at a writable place."
        )
    if isinstance(exc, sqlite3.DatabaseError) and any(w in text for w in ("malformed", "not a database", "corrupt")):
        return damaged(path, f"is damaged (SQLite: {exc})")
    return StoreError(
        f"the store {path} cannot be opened (SQLite: {exc}). Check the file and its folder; "
        f"`laughvid store check --store {path}` says more."
    )


def publish_new(tmp: Path, target: Path) -> bool:
    """Give the complete file `tmp` the name `target` unless `target` exists; False if it does.

    A hard link is atomic and never replaces: two processes creating the store at once both finish,
    one of them wins. File systems without hard links (FAT, some network shares) get a rename after
    an existence check instead.
    """
    try:
        os.link(tmp, target)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
        if os.path.lexists(target):
            return False
        os.replace(tmp, target)
    return True


def build_new(target: Path, fill: Callable[[sqlite3.Connection], object]) -> bool:
    """Create `target` as a SQLite file filled by `fill`, complete or not at all; False if it exists.

    Raises StoreError, leaving nothing behind, when it cannot be written (read-only folder, full disk).
    """
    tmp = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".new", dir=target.parent)
        os.close(fd)
        tmp = Path(name)
        with contextlib.closing(sqlite3.connect(tmp)) as conn:
            fill(conn)
            conn.commit()
        return publish_new(tmp, target)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(
            f"cannot create {target}: {exc}. Nothing was changed; is the disk full or read-only? "
            "Point LAUGHVID_HOME / --store at a writable place."
        ) from None
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def backup_path(store_path: Path, label: str) -> Path:
    """A free name beside the store: laughvid.<label>.<UTC time>.sqlite (e.g. label v2-to-v3)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    suffix = store_path.suffix or ".sqlite"
    candidate = store_path.with_name(f"{store_path.stem}.{label}.{stamp}{suffix}")
    n = 1
    while os.path.lexists(candidate):
        n += 1
        candidate = store_path.with_name(f"{store_path.stem}.{label}.{stamp}-{n}{suffix}")
    return candidate


def backup(conn: sqlite3.Connection, target: Path) -> Path:
    """Copy the store behind `conn` to the new file `target` (refused if it exists).

    The copy is one self-contained file (rollback journal, no -wal) so it can be moved, mailed or
    opened read-only anywhere.
    """
    if os.path.lexists(target):
        raise StoreError(f"{target} already exists; laughvid does not overwrite it. Name another file.")

    def fill(copy: sqlite3.Connection) -> None:
        conn.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")

    if not build_new(target, fill):
        raise StoreError(f"{target} appeared while the backup was written; laughvid did not overwrite it. Try again.")
    return target


def move_aside(path: Path) -> Path:
    """Rename a damaged store (and any -wal / -shm beside it) to a free backup name; nothing is deleted."""
    aside = backup_path(path, "damaged")
    for suffix in ("-wal", "-shm", ""):  # the main file last: a crash leaves it where it was
        if os.path.lexists(f"{path}{suffix}"):
            os.rename(f"{path}{suffix}", f"{aside}{suffix}")
    return aside
