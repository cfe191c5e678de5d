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


def export_stem(video_name: str | Path) -> str:
    """The video's file stem as is when it fits MAX_STEM_BYTES (UTF-8), else its start + '~' + 8 hex of its hash."""
    stem = Path(video_name).stem
    encoded = stem.encode("utf-8")
    if len(encoded) <= MAX_STEM_BYTES:
        return stem
    digest = hashlib.sha256(encoded).hexdigest()[:HASH_CHARS]
    head = encoded[: MAX_STEM_BYTES - HASH_CHARS - 1].decode("utf-8", errors="ignore")  # drops a split character
    return f"{head}~{digest}"
