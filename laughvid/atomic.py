"""Atomic file outputs: write to a temp file in the target's folder, then rename it into place.

Why: a full disk, a crash or Ctrl-C in the middle of a write must leave the previous file (or no
file), never a half-written CSV, JSON, clip or crop that a later step would trust. A rename within
one folder is atomic on POSIX file systems, and a temp file in the same folder never crosses a
device boundary. Every output laughvid writes goes through these helpers.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """A temp path beside `target` (same suffix, so tools like ffmpeg infer the format) that is
    renamed onto `target` when the block succeeds and removed when it raises."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", suffix=target.suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_open(target: str | Path, mode: str = "w", **kwargs) -> Iterator[IO]:
    """`open(target, mode)` whose content appears at `target` only once the block has written it all
    (flushed and fsynced first, so a power cut cannot rename an empty file into place)."""
    if "w" not in mode:
        raise ValueError(f"atomic_open writes whole files; mode {mode!r} has no 'w'")
    if "b" not in mode:
        kwargs.setdefault("encoding", "utf-8")
    with atomic_path(target) as tmp, open(tmp, mode, **kwargs) as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())


def write_text_atomic(target: str | Path, text: str) -> None:
    with atomic_open(target, "w") as handle:
        handle.write(text)


def write_bytes_atomic(target: str | Path, data: bytes) -> None:
    with atomic_open(target, "wb") as handle:
        handle.write(data)
