"""Writing uploaded videos to disk safely.

Why this much care: browsers send whatever name the user's file had (paths, `..`, odd unicode),
two different files often share a name (`IMG_0001.MOV`), and a big upload interrupted half way
must not leave a file that looks complete. So: stream to a temporary file while hashing, refuse
anything over the size limit, then move it to a sanitised name that never overwrites another
file. The content hash identifies the video: uploading the same bytes again reuses the first copy.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from laughvid.config import DEFAULT_MAX_UPLOAD_MB, MAX_UPLOAD_ENV, VIDEO_TYPES, max_upload_raw
from laughvid.errors import UploadError

_CHUNK = 1 << 20


@dataclass(frozen=True)
class SavedUpload:
    path: Path
    sha256: str
    size: int
    reused: bool  # the same content was already on disk: no new file


def max_upload_mb() -> int:
    raw = max_upload_raw()
    try:
        return int(raw) if raw else DEFAULT_MAX_UPLOAD_MB
    except ValueError:
        raise UploadError(f"{MAX_UPLOAD_ENV}={raw!r} is not a whole number of megabytes") from None


def sanitize_name(name: str) -> str:
    """A safe file name: no directories, ASCII letters/digits/._- only, a video extension kept."""
    base = Path(name.replace("\\", "/")).name
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = ext, ""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("._-")[:80] or "video"
    ext = re.sub(r"[^A-Za-z0-9]", "", ext).lower()[:8]
    return f"{stem}.{ext}" if ext else stem


def _link_to_free_name(tmp: Path, folder: Path, name: str) -> Path:
    """Hard-link `tmp` as `name`, or `stem-2.ext`, `stem-3.ext`...: the first name nothing holds.

    Each name is tried once and `os.link` itself is the test, so a name held by anything (a file,
    a folder, a symlink even when dangling, another upload finishing meanwhile) is skipped and
    never overwritten; asking `exists()` first would follow a dangling link and retry it forever.
    """
    stem, suffix = Path(name).stem, Path(name).suffix
    n = 1
    while True:
        target = folder / (name if n == 1 else f"{stem}-{n}{suffix}")
        try:
            os.link(tmp, target)
            return target
        except FileExistsError:
            n += 1


def _existing_copy(folder: Path, sha256: str, size: int) -> Path | None:
    for path in folder.iterdir():
        if path.is_file() and path.stat().st_size == size and not path.name.startswith(".upload-"):
            with open(path, "rb") as f:
                if hashlib.file_digest(f, "sha256").hexdigest() == sha256:  # as store.file_sha256 (ui/ helpers import no store)
                    return path
    return None


def save_upload(name: str, data: BinaryIO, folder: str | Path, limit_mb: int | None = None) -> SavedUpload:
    """Stream `data` into `folder` under a sanitised, unused name; see the module docstring."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    limit = (limit_mb if limit_mb is not None else max_upload_mb()) * 1024 * 1024
    safe = sanitize_name(name)
    if Path(safe).suffix.lstrip(".") not in VIDEO_TYPES:
        kind = f"a .{Path(safe).suffix.lstrip('.')} file" if Path(safe).suffix else "a file without an extension"
        raise UploadError(
            f"{name} was not uploaded: {kind} is not a video file type laughvid reads. Upload a video ({', '.join(VIDEO_TYPES)})."
        )
    digest, size = hashlib.sha256(), 0
    fd, tmp_name = tempfile.mkstemp(prefix=".upload-", dir=folder)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            while block := data.read(_CHUNK):
                size += len(block)
                if size > limit:
                    raise UploadError(
                        f"{name} was not uploaded: larger than the {limit // (1024 * 1024)} MB upload limit (set {MAX_UPLOAD_ENV})"
                    )
                digest.update(block)
                out.write(block)
        if size == 0:
            raise UploadError(f"{name} was not uploaded: the file is empty (0 bytes). Upload the video itself.")
        sha = digest.hexdigest()
        existing = _existing_copy(folder, sha, size)
        if existing is not None:
            tmp.unlink()
            return SavedUpload(existing, sha, size, reused=True)
        target = _link_to_free_name(tmp, folder, safe)
        tmp.unlink()
        return SavedUpload(target, sha, size, reused=False)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
