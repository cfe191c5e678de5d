"""Is the file at a video's stored path still the video that was analysed? And where did it go?

Every clip, reel, blur, thumbnail, contact sheet and fine-tune crop is cut from the file at the
path the store holds, using face boxes and segments from the analysis. If that file was replaced
(or a relative path now points elsewhere) the output would show another video, and blurring would
cover where the analysed faces were, not where this video's faces are. So every reader of a
video's pixels first asks `check_video` for the path.

Why size + mtime first: hashing a 1 GB file takes seconds, a stat microseconds. A file whose size
and mtime are those recorded when it was hashed is taken to be the same; any difference (a copy, a
`touch`, a replacement) costs one sha256, and a match records the new stat so the next check is
fast again.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from laughvid import store
from laughvid.errors import VideoFileError

RELINK_HINT = "run `laughvid relink VIDEO_OR_FOLDER` (or, in the app, give the folder that holds it) to find it by its content"


@dataclass(frozen=True)
class FileStamp:
    """What a stat says about a file: enough to notice it changed without reading it."""

    size_bytes: int
    mtime_ns: int

    @classmethod
    def of(cls, path: str | Path) -> FileStamp:
        st = os.stat(path)
        return cls(st.st_size, st.st_mtime_ns)


def check_video(record: store.AnalysisRecord, conn: sqlite3.Connection | None = None) -> Path:
    """The path of `record`'s video after making sure the file there is the analysed one.

    Raises VideoFileError when it is missing or its content differs. A file of another size is
    refused without hashing (its content cannot match). A file whose content matches but whose stat
    changed (a copy, a `touch`, or a store from before stats were kept) is hashed once: its new stat
    goes into `record`, so later checks of the same record take the fast path, and with `conn` into
    the store too."""
    path = Path(record.path)
    if not path.is_file():
        raise VideoFileError(
            f"{record.path} is no longer there: {record.name} was analysed from that file; {RELINK_HINT}, or analyse (upload) it again"
        )
    stamp = FileStamp.of(path)
    if (stamp.size_bytes, stamp.mtime_ns) == (record.size_bytes, record.mtime_ns):
        return path
    changed = f"{record.path} is not the video that was analysed: its content changed ({{}}), so its clips and blurred faces would not match the analysis; put the analysed file back, or {RELINK_HINT}"
    if record.size_bytes is not None and stamp.size_bytes != record.size_bytes:
        raise VideoFileError(changed.format(f"{stamp.size_bytes} bytes, analysed {record.size_bytes}"))
    sha = store.file_sha256(path)
    if sha != record.sha256:
        raise VideoFileError(changed.format(f"sha256 {sha[:12]}, analysed {record.sha256[:12]}"))
    record.size_bytes, record.mtime_ns = stamp.size_bytes, stamp.mtime_ns
    if conn is not None:
        store.relink_video(conn, record.video_id, str(path.resolve()), stamp.size_bytes, stamp.mtime_ns)
    return path


@dataclass(frozen=True)
class RelinkReport:
    """What `relink` did: videos found (name, new path), videos still without their file, PATHs that do not exist."""

    relinked: tuple[tuple[str, Path], ...]
    missing: tuple[store.AnalysisRecord, ...]
    not_found: tuple[Path, ...]


def _files(places: Sequence[Path]) -> Iterator[Path]:
    """Each given file, and every file under each given folder (symlinked folders are not followed)."""
    for place in places:
        if place.is_file():
            yield place
        for root, _, names in os.walk(place):
            yield from (Path(root) / n for n in sorted(names))


def _videos_without_file(conn: sqlite3.Connection) -> list[store.AnalysisRecord]:
    """One record per stored video (the newest analysis) whose file fails `check_video`."""
    newest: dict[int, store.AnalysisRecord] = {}
    for record in store.list_analyses(conn):
        newest.setdefault(record.video_id, record)
    lost = []
    for record in newest.values():
        try:
            check_video(record, conn)
        except VideoFileError:
            lost.append(record)
    return lost


def relink(conn: sqlite3.Connection, places: Sequence[str | Path]) -> RelinkReport:
    """Find each video whose file is missing or changed among the files at `places` (files or folders,
    searched recursively) by sha256, and store its new path. Only files of a size some lost video had
    are hashed (all files when a video analysed before sizes were kept is lost)."""
    places = [Path(p).expanduser() for p in places]
    lost = {r.sha256: r for r in _videos_without_file(conn)}
    sizes = {r.size_bytes for r in lost.values()}
    relinked = []
    for path in _files([p for p in places if p.exists()]) if lost else ():
        try:
            stamp = FileStamp.of(path)
            if None not in sizes and stamp.size_bytes not in sizes:
                continue
            record = lost.pop(store.file_sha256(path), None)
        except OSError:  # unreadable or vanished while searching: not the one
            continue
        if record is not None:
            store.relink_video(conn, record.video_id, str(path.resolve()), stamp.size_bytes, stamp.mtime_ns)
            relinked.append((record.name, path.resolve()))
            sizes = {r.size_bytes for r in lost.values()}
            if not lost:
                break
    return RelinkReport(tuple(relinked), tuple(lost.values()), tuple(p for p in places if not p.exists()))
