"""What the store holds, one entry per video: its file, its latest analysis, and its review state.

Why one entry per video (not per analysis): a person browsing a library asks "which videos do I
have, which failed, how far is their review", and a video re-analysed with a new model is still one
video. The entry shows its newest analysis (done, failed with the reason, or `running`: stopped
part-way, resumable). Review counts are what the review screen shows for that video: segments a
reviewer acted on, plus auto segments nobody touched yet (pending), at the given smoothing.

The `laughvid library` command and the UI's library view are thin layers over `library_entries`.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from laughvid import store
from laughvid.pipeline.analyze import compute_segments
from laughvid.pipeline.segments import SmoothingParams
from laughvid.review.edits import completed, review_list
from laughvid.types import Segment

REVIEW_COUNTS = ("pending", "accepted", "rejected", "added")
NOT_ANALYSED = "none"  # a video row without any analysis (its model failed to load, say)


@dataclass(frozen=True)
class LibraryEntry:
    """One video of the store, as a library listing shows it."""

    sha256: str
    path: str  # where the file was last seen
    name: str
    duration_s: float
    size_bytes: int | None  # None: hashed before sizes were kept
    on_disk: bool  # a file is at `path` now (it may have been moved: `laughvid relink`)
    status: str  # of the newest analysis: done | failed | running (stopped part-way, resumable) | none
    error: str | None  # why it failed
    progress: float  # 0..1 of the newest analysis
    model_version: str | None
    analysis_id: int | None
    warnings: tuple[str, ...]
    pending: int  # segments waiting for review (auto segments no reviewer touched, and ones set back to pending)
    accepted: int
    rejected: int
    added: int  # laughs a reviewer drew that the model missed
    reviewed: bool  # marked "whole video reviewed"

    @property
    def segments(self) -> int:
        return self.pending + self.accepted + self.rejected + self.added

    def as_dict(self) -> dict:
        return {**asdict(self), "warnings": list(self.warnings), "segments": self.segments}


_NEWEST_ANALYSIS_SQL = """
SELECT v.sha256, v.path, v.name, v.info_json, v.size_bytes, a.id
FROM videos v LEFT JOIN analyses a ON a.id = (
    SELECT id FROM analyses WHERE video_id = v.id ORDER BY started_at DESC, id DESC LIMIT 1
)
ORDER BY v.path
"""


def library_entries(
    conn: sqlite3.Connection,
    smoothing: SmoothingParams = SmoothingParams(),
    status: str | None = None,
    segments: Callable[[store.AnalysisRecord, SmoothingParams], list[Segment]] | None = None,
) -> list[LibraryEntry]:
    """Every video in the store, sorted by path (only those whose newest analysis has `status`, if given).

    Segments come from the ones saved at analysis time for `smoothing`; an analysis that saved
    none for it (other smoothing, or no laughs) gets them recomputed from its cache (no decoding).
    `segments` replaces that lookup (the app passes a cached one: recomputing every video's
    segments on each rerun cost 0.6 s per 30-minute video at a non-default tuning).
    """
    segments_of = segments or (lambda record, smoothing: auto_segments(conn, record, smoothing))
    entries = []
    for sha256, path, name, info_json, size_bytes, analysis_id in conn.execute(_NEWEST_ANALYSIS_SQL).fetchall():
        record = store.get_analysis(conn, analysis_id) if analysis_id is not None else None
        entry_status = record.status if record else NOT_ANALYSED
        if status is not None and entry_status != status:
            continue
        auto = segments_of(record, smoothing) if record and record.status == "done" else []
        counts = Counter(item.state for item in review_list(auto, conn, sha256))
        entries.append(
            LibraryEntry(
                sha256=sha256,
                path=path,
                name=name,
                duration_s=float(json.loads(info_json)["duration_s"]),
                size_bytes=size_bytes,
                on_disk=Path(path).is_file(),
                status=entry_status,
                error=record.error if record else None,
                progress=record.progress if record else 0.0,
                model_version=record.model_version if record else None,
                analysis_id=analysis_id,
                warnings=tuple(record.warnings) if record else (),
                **{state: counts[state] for state in REVIEW_COUNTS},
                reviewed=completed(conn, sha256) is not None,
            )
        )
    return entries


def auto_segments(conn: sqlite3.Connection, record: store.AnalysisRecord, smoothing: SmoothingParams) -> list[Segment]:
    """A finished analysis' segments at `smoothing`: saved ones, else recomputed from its cache."""
    return store.load_segments(conn, record.id, smoothing.hash()) or compute_segments(conn, record.id, smoothing)
