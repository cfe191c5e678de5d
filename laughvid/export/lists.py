"""Segment lists for other tools: CSV and JSON (spreadsheets, scripts), SRT (subtitles on the
source video) and a CMX3600 EDL (an editor timeline that Premiere, Resolve and Avid import).

All writers take the same rows so that the four files always agree with each other.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from laughvid.atomic import write_files_atomic
from laughvid.export.naming import export_stem
from laughvid.review import LAUGH_STATES
from laughvid.types import ReviewedSegment, Segment

COLUMNS = (
    "index",
    "start_s",
    "end_s",
    "duration_s",
    "peak_prob",
    "mean_prob",
    "peak_intensity",  # how big the laugh got (0..1; empty where the analysis had no face geometry)
    "track_ids",
    "state",
    "origin",
    "reviewer",
    "reviewed_at",
)


LIST_FORMATS = ("csv", "json", "srt", "edl")


@dataclass(frozen=True)
class ListSource:
    """The video the segments belong to, as the lists name it."""

    name: str  # file name shown to editors (EDL clip name, JSON "video")
    fps: float
    sha256: str = ""
    model_version: str = ""


def _reviewed(item: Segment | ReviewedSegment) -> ReviewedSegment:
    return item if isinstance(item, ReviewedSegment) else ReviewedSegment(item)


def rows(segments: Sequence[Segment | ReviewedSegment]) -> list[dict]:
    """One dict per segment in time order, keys = COLUMNS."""
    ordered = sorted((_reviewed(s) for s in segments), key=lambda r: r.start_s)
    return [
        {
            "index": i,
            "start_s": round(r.start_s, 3),
            "end_s": round(r.end_s, 3),
            "duration_s": round(r.segment.duration_s, 3),
            "peak_prob": round(r.segment.peak_prob, 4),
            "mean_prob": round(r.segment.mean_prob, 4),
            "peak_intensity": "" if r.segment.peak_intensity is None else round(r.segment.peak_intensity, 4),
            "track_ids": " ".join(str(t) for t in r.segment.track_ids),
            "state": r.state,
            "origin": r.origin,
            "reviewer": r.reviewer or "",
            "reviewed_at": r.reviewed_at or "",
        }
        for i, r in enumerate(ordered, start=1)
    ]


def to_csv(segments: Sequence[Segment | ReviewedSegment]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows(segments))
    return buffer.getvalue()


def to_json(segments: Sequence[Segment | ReviewedSegment], source: ListSource) -> str:
    document = {
        "video": source.name,
        "sha256": source.sha256,
        "fps": source.fps,
        "model_version": source.model_version,
        "segments": rows(segments),
    }
    return json.dumps(document, indent=2) + "\n"


def srt_time(seconds: float) -> str:
    """SRT timestamp `HH:MM:SS,mmm`."""
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"


_CAPTIONS = {  # state -> (what it is, the review's word, whose peak)
    "accepted": ("Laugh", "accepted", "peak"),
    "added": ("Laugh", "added in review", "peak"),
    "pending": ("Possible laugh", "not reviewed", "peak"),
    "rejected": ("Not a laugh", "rejected in review", "the model's peak"),
}


def caption(row: dict) -> str:
    """A segment in words for a subtitle or an editor's comment: with every state listed, a rejected
    segment must not read "Laugh", nor an unreviewed one read as a confirmed laugh."""
    what, word, peak = _CAPTIONS.get(row["state"], ("Laugh", row["state"], "peak"))
    return f"{what} ({word}, {peak} {row['peak_prob']:.2f})"


def to_srt(segments: Sequence[Segment | ReviewedSegment]) -> str:
    blocks = []
    for row in rows(segments):
        text = caption(row)
        blocks.append(f"{row['index']}\n{srt_time(row['start_s'])} --> {srt_time(row['end_s'])}\n{text}\n")
    return "\n".join(blocks)


def timecode(frames: int, fps: float) -> str:
    """Non-drop-frame SMPTE timecode `HH:MM:SS:FF` at the rounded frame rate (what editors expect)."""
    rate = max(1, round(fps))
    hours, rest = divmod(max(0, frames), 3600 * rate)
    minutes, rest = divmod(rest, 60 * rate)
    secs, frame = divmod(rest, rate)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}:{frame:02d}"


def to_edl(segments: Sequence[Segment | ReviewedSegment], source: ListSource) -> str:
    """CMX3600 EDL: one cut event per segment, laid end to end on the record side from 01:00:00:00.

    Reel `AX` plus a `* FROM CLIP NAME:` comment is how file-based editors link events to media.
    Source and record sides are counted in whole frames so each event's in/out lengths agree.
    """
    title = Path(source.name).stem[:70] or "laughvid"
    lines = [f"TITLE: {title}", "FCM: NON-DROP FRAME", ""]
    record = 3600 * max(1, round(source.fps))
    for row in rows(segments):
        src_in, src_out = round(row["start_s"] * source.fps), round(row["end_s"] * source.fps)
        length = max(1, src_out - src_in)
        tcs = (
            timecode(src_in, source.fps),
            timecode(src_in + length, source.fps),
            timecode(record, source.fps),
            timecode(record + length, source.fps),
        )
        lines.append(f"{row['index']:03d}  AX       V     C        {' '.join(tcs)}")
        lines.append(f"* FROM CLIP NAME: {source.name}")
        lines.append(f"* COMMENT: {caption(row)}")
        lines.append("")
        record += length
    return "\n".join(lines)


def laughs_only(segments: Sequence[Segment | ReviewedSegment]) -> list[Segment | ReviewedSegment]:
    """What an editor's cut list or subtitles should carry: accepted and added laughs (a plain
    model segment, from `--automatic`, is the model's laugh), never pending or rejected ones."""
    return [s for s in segments if not isinstance(s, ReviewedSegment) or s.state in LAUGH_STATES]


def write_lists(
    segments: Sequence[Segment | ReviewedSegment],
    source: ListSource,
    out_dir: str | Path,
    formats: Sequence[str] = LIST_FORMATS,
    all_states: bool = False,
) -> dict[str, Path]:
    """The lists in `formats` (default all four) beside each other, named after the video; returns
    {format: path}. CSV and JSON hold every segment with its review state; SRT and EDL only the
    laughs (`laughs_only`) unless `all_states` (then each event says its state). All or none: a failed
    write (full disk) raises OSError and leaves the previous lists as they were."""
    stem = export_stem(source.name)
    cut = list(segments) if all_states else laughs_only(segments)
    writers = {
        "csv": lambda: to_csv(segments),
        "json": lambda: to_json(segments, source),
        "srt": lambda: to_srt(cut),
        "edl": lambda: to_edl(cut, source),
    }
    contents = {fmt: writers[fmt]() for fmt in formats}
    paths = {fmt: Path(out_dir) / f"{stem}_segments.{fmt}" for fmt in contents}
    write_files_atomic({paths[fmt]: text for fmt, text in contents.items()})
    return paths
