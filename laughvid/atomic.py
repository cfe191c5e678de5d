"""Atomic file outputs: write to a temp file in the target's folder, then rename it into place.

Why: a full disk, a crash or Ctrl-C in the middle of a write must leave the previous file (or no
file), never a half-written CSV, JSON, clip or crop that a later step would trust. A rename within
one folder is atomic on POSIX file systems, and a temp file in the same folder never crosses a
device boundary. Every output laughvid writes goes through these helpers. The temp file is made as
`open()` makes a new file (0o666 less the umask), not as `mkstemp` does (0o600), because it becomes
the output: clips, lists and models are meant to be shared as the user's umask allows.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO

import cv2
import numpy as np


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """A temp path beside `target` (same suffix, so tools like ffmpeg infer the format) that is
    renamed onto `target` when the block succeeds and removed when it raises."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".tmp-{secrets.token_hex(8)}{target.suffix}"
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))  # a new name, never an existing file
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


def write_files_atomic(files: Mapping[str | Path, str | bytes]) -> None:
    """Write several files that belong together (text as UTF-8, byte for byte): every temp file is
    written in full before any is renamed into place, so a failure part way (a full disk on the
    third file) leaves all the previous files, never a folder mixing two runs' outputs."""
    with contextlib.ExitStack() as renames:
        for target, data in files.items():
            with open(renames.enter_context(atomic_path(target)), "wb") as handle:
                handle.write(data.encode("utf-8") if isinstance(data, str) else data)
                handle.flush()
                os.fsync(handle.fileno())


def write_text_atomic(target: str | Path, text: str) -> None:
    write_files_atomic({target: text})


def write_bytes_atomic(target: str | Path, data: bytes) -> None:
    write_files_atomic({target: data})


def copy_atomic(source: str | Path, target: str | Path) -> None:
    """`shutil.copy2` (content and times) whose copy appears at `target` only when complete."""
    with atomic_path(target) as tmp:
        shutil.copy2(source, tmp)


def write_image_atomic(target: str | Path, image: np.ndarray) -> None:
    """`cv2.imwrite` made atomic: the image (BGR or grey, as OpenCV takes it) encoded in the format its
    suffix names. Raises OSError when it cannot be written, where `cv2.imwrite` only returns False."""
    try:
        ok, encoded = cv2.imencode(Path(target).suffix, image)
    except cv2.error:  # no encoder for this suffix
        ok = False
    if not ok:
        raise OSError(f"{target}: cannot encode an image as {Path(target).suffix or 'a file without a suffix'} (use .png or .jpg)")
    write_bytes_atomic(target, encoded.tobytes())
