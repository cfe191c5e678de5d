"""Highlight clips and a highlight reel cut from the source video with ffmpeg.

Why re-encode by default: a stream copy can only start on a keyframe (often seconds away), so the
clip would not start where the reviewer put the segment. Re-encoding with libx264 makes every clip
start and end on the exact frame; `mode="copy"` is offered for speed when that does not matter.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import ffmpeg

from laughvid.atomic import atomic_path
from laughvid.errors import ExportCancelled, ExportError
from laughvid.export import ffmpeg as ffmpeg_run
from laughvid.export.naming import export_stem
from laughvid.export.progress import OnTime, ProgressFn, Tracker
from laughvid.pipeline.decode import probe
from laughvid.types import Segment

MODES = ("reencode", "copy")
JOIN_WEIGHT = 0.1  # joining the reel's pieces copies streams: a tenth of the cost of cutting them, as progress counts


class Finish(Protocol):
    """A last step on each written file before it is put in place, given the source (start_s, end_s)
    windows the file is made of (face blurring); if it raises, no file is left. It reports the
    seconds it has done to `on_time` and stops (raising ExportCancelled) when `cancel` is set."""

    def __call__(
        self, path: Path, windows: Sequence[tuple[float, float]], on_time: OnTime | None = None, cancel: threading.Event | None = None
    ) -> None: ...


@dataclass(frozen=True)
class ClipOptions:
    """How much context to keep around a segment, and how to cut.

    Laughter follows the joke, so the default pre-roll (the setup) is longer than the post-roll.
    """

    pre_roll_s: float = 2.0
    post_roll_s: float = 1.0
    mode: str = "reencode"  # "reencode" (frame-accurate) or "copy" (fast, starts on a keyframe)
    crf: int = 20
    preset: str = "veryfast"

    def __post_init__(self) -> None:
        if self.pre_roll_s < 0 or self.post_roll_s < 0:
            raise ValueError(f"pre/post-roll must be >= 0 s, got {self.pre_roll_s} / {self.post_roll_s}")
        if self.mode not in MODES:
            raise ValueError(f"clip mode must be one of {MODES}, got {self.mode!r}")


@dataclass(frozen=True)
class ClipWindow:
    """The part of the source a clip covers: the segment plus padding, clamped to the video."""

    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Clip:
    """One exported file and what it covers."""

    path: Path
    window: ClipWindow
    segment: Segment


@dataclass(frozen=True)
class Reel:
    """The highlight reel: one file made of these source windows, in order."""

    path: Path
    windows: tuple[ClipWindow, ...]

    @property
    def duration_s(self) -> float:
        return sum(w.duration_s for w in self.windows)


def clip_window(segment: Segment, video_duration_s: float, options: ClipOptions) -> ClipWindow:
    """Segment padded by pre/post-roll, clamped to [0, video duration]."""
    if segment.end_s <= segment.start_s:
        raise ExportError(f"segment {segment.start_s:.2f}-{segment.end_s:.2f} s is empty")
    if segment.start_s >= video_duration_s or segment.end_s <= 0:
        raise ExportError(f"segment {segment.start_s:.2f}-{segment.end_s:.2f} s lies outside the video (0-{video_duration_s:.2f} s)")
    start = max(0.0, segment.start_s - options.pre_roll_s)
    end = min(video_duration_s, segment.end_s + options.post_roll_s)
    return ClipWindow(start, end)


def merge_windows(windows: Sequence[ClipWindow]) -> list[ClipWindow]:
    """Overlapping or touching windows joined, in time order, so a reel never repeats footage."""
    merged: list[ClipWindow] = []
    for window in sorted(windows, key=lambda w: w.start_s):
        if merged and window.start_s <= merged[-1].end_s:
            merged[-1] = ClipWindow(merged[-1].start_s, max(merged[-1].end_s, window.end_s))
        else:
            merged.append(window)
    return merged


def cut(
    video_path: str | Path,
    window: ClipWindow,
    out_path: str | Path,
    options: ClipOptions,
    finish: Finish | None = None,
    tracker: Tracker | None = None,
    file: int = 1,
) -> ClipWindow:
    """Write `window` of the video to `out_path` (mp4); return the source window actually written.

    A stream copy starts on the keyframe at or before `window.start_s`, so its real start is read
    back from the file: whoever maps clip time to source time (face blurring) needs the truth.
    The file appears at `out_path` only once written and finished: a failure or a cancel (through
    `tracker`, which also hears the progress of `file`) leaves none, and a file there stays as it was."""
    out_path = Path(out_path)
    tracker = tracker or Tracker(None, None, window.duration_s, 1)
    with atomic_path(out_path) as tmp:
        source = ffmpeg.input(str(video_path), ss=f"{window.start_s:.6f}", t=f"{window.duration_s:.6f}")
        if options.mode == "copy":
            output = source.output(str(tmp), c="copy", avoid_negative_ts="make_zero", movflags="+faststart")
        else:
            output = source.output(
                str(tmp),
                vcodec="libx264",
                preset=options.preset,
                crf=options.crf,
                pix_fmt="yuv420p",
                acodec="aac",
                movflags="+faststart",
            )
        ffmpeg_run.run(output, out_path.name, tracker.step(file, "cutting", window.duration_s), tracker.cancel)
        if options.mode == "copy":
            written_s = probe(tmp).duration_s
            window = ClipWindow(max(0.0, round(window.end_s - written_s, 6)), window.end_s)
        if finish is not None:
            finish(tmp, [(window.start_s, window.end_s)], tracker.step(file, "blurring faces", window.duration_s), tracker.cancel)
    return window


def clip_name(video_path: str | Path, index: int, window: ClipWindow) -> str:
    """`<video stem>_clip03_12.40-17.80.mp4`: sortable, says where it came from (a long stem is shortened)."""
    return f"{export_stem(video_path)}_clip{index:02d}_{window.start_s:.2f}-{window.end_s:.2f}.mp4"


def export_clips(
    video_path: str | Path,
    segments: Sequence[Segment],
    video_duration_s: float,
    out_dir: str | Path,
    options: ClipOptions = ClipOptions(),
    finish: Finish | None = None,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    ranked: bool = False,
) -> list[Clip]:
    """One padded clip per segment (clips of overlapping segments may share footage), numbered in time
    order, or in the order given with `ranked` (clip01 = the first of a ranking), each passed
    through `finish` before it is put in place. All or nothing: when one fails, the clips this call
    already wrote are removed, so a failed export never looks like a finished one.

    `progress` hears where the export is (clip i of n, seconds cut or blurred of it); setting `cancel`
    stops it within a second: the clip being written is not left (nor its temp file, and a file of
    its name keeps its content), the clips finished before are kept and named by the
    ExportCancelled raised."""
    ordered = list(segments) if ranked else sorted(segments, key=lambda s: s.start_s)
    windows = [clip_window(segment, video_duration_s, options) for segment in ordered]
    passes = 2 if finish is not None else 1
    tracker = Tracker(progress, cancel, passes * sum(w.duration_s for w in windows), len(windows))
    clips: list[Clip] = []
    try:
        for index, (segment, window) in enumerate(zip(ordered, windows, strict=True), start=1):
            path = Path(out_dir) / clip_name(video_path, index, window)
            clips.append(Clip(path, cut(video_path, window, path, options, finish, tracker, index), segment))
    except ExportCancelled as exc:
        written = tuple(c.path for c in clips)
        raise ExportCancelled(f"export cancelled: {len(written)} of {len(windows)} clip(s) written before the cancel", written) from exc
    except BaseException:
        for clip in clips:
            clip.path.unlink(missing_ok=True)
        raise
    tracker.done(f"{len(clips)} clip(s) written")
    return clips


def export_reel(
    video_path: str | Path,
    segments: Sequence[Segment],
    video_duration_s: float,
    out_path: str | Path,
    options: ClipOptions = ClipOptions(),
    finish: Finish | None = None,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> Reel:
    """All padded segments joined into one file; overlapping windows are merged first.

    Each merged window is cut on its own (seeking, so an hour of footage is not decoded), then the
    pieces, all encoded alike, are joined by ffmpeg's concat demuxer without re-encoding again.
    The reel is passed through `finish`, then put in place; a failure or a cancel (ExportCancelled,
    within a second of setting `cancel`) leaves no reel, and a reel there keeps its content.
    `progress` hears which piece is cut, the join and the blur.
    """
    if not segments:
        raise ExportError("no segments to put in a reel (accept or add some first)")
    windows = merge_windows([clip_window(s, video_duration_s, options) for s in segments])
    seconds = sum(w.duration_s for w in windows)
    tracker = Tracker(progress, cancel, seconds * (JOIN_WEIGHT + (2 if finish is not None else 1)), len(windows), "reel piece")
    out_path = Path(out_path)
    try:
        with tempfile.TemporaryDirectory(prefix="laughvid_reel_") as tmp:
            pieces = [Path(tmp) / f"piece{i:04d}.mp4" for i in range(len(windows))]
            windows = [
                cut(video_path, w, piece, options, None, tracker, i) for i, (w, piece) in enumerate(zip(windows, pieces, strict=True), 1)
            ]
            listing = Path(tmp) / "pieces.txt"
            listing.write_text("".join(f"file '{p.as_posix()}'\n" for p in pieces))
            with atomic_path(out_path) as joined_path:
                joined = ffmpeg.input(str(listing), f="concat", safe=0).output(str(joined_path), c="copy", movflags="+faststart")
                ffmpeg_run.run(joined, out_path.name, tracker.step(len(windows), "joining", seconds, JOIN_WEIGHT, "reel"), cancel)
                if finish is not None:
                    finish(
                        joined_path,
                        [(w.start_s, w.end_s) for w in windows],
                        tracker.step(len(windows), "blurring faces", seconds, label="reel"),
                        cancel,
                    )
    except ExportCancelled as exc:
        raise ExportCancelled("export cancelled: no reel written") from exc
    tracker.done(f"reel {out_path.name} written")
    return Reel(out_path, tuple(windows))
