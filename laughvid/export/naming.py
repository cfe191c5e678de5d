"""Export file names derived from a video's file name, kept short enough for any file system.

Why: a file name may hold at most 255 bytes, and a video named with 250 characters is valid while
`<its stem>_clip03_12.40-17.80.mp4` is not. Long stems are cut at a character boundary and given a
short hash of the whole stem, so the name stays readable and two long names differing only at the
end still get different exports.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

MAX_STEM_BYTES = 120  # leaves room for every suffix laughvid adds (the longest: a clip's, ~35 bytes)
HASH_CHARS = 8
VIDEO_HASH_CHARS = 8  # of the video's sha256 in its export folder's name


def export_stem(video_name: str | Path) -> str:
    """The video's file stem as is when it fits MAX_STEM_BYTES (UTF-8), else its start + '~' + 8 hex of its hash."""
    stem = Path(video_name).stem
    encoded = stem.encode("utf-8")
    if len(encoded) <= MAX_STEM_BYTES:
        return stem
    digest = hashlib.sha256(encoded).hexdigest()[:HASH_CHARS]
    head = encoded[: MAX_STEM_BYTES - HASH_CHARS - 1].decode("utf-8", errors="ignore")  # drops a split character
    return f"{head}~{digest}"


def video_export_dir(exports_root: str | Path, video_name: str, sha256: str) -> Path:
    """`<exports>/<video stem>-<sha256 prefix>/`, where the app and `laughvid export` put a video's clips,
    reel and lists: one folder per video, never mixing two files of one name."""
    return Path(exports_root) / f"{export_stem(video_name)}-{sha256[:VIDEO_HASH_CHARS]}"


def video_export_dirs(exports_root: str | Path, sha256: str) -> list[Path]:
    """Every export folder of a video under `exports_root`, whatever the video was called when it was
    exported (the folder name ends with its content hash); real folders only, never a symlink's target."""
    root = Path(exports_root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob(f"*-{sha256[:VIDEO_HASH_CHARS]}") if p.is_dir() and not p.is_symlink())
