"""Blurring the faces of people who did not consent, in frames and in exported clips.

The clip exporter cuts clips and reels with ffmpeg; `blur_unconsented` is the optional second pass
over those files: every raw face track (the tracker's, never a stitched person) not linked to a
participant with `clips` consent (`consent.tracks_without_consent`) is blurred, so consent given for
one face of a person that stitching joined from two people does not uncover the other. Boxes come
from the analysis' score cache (analysed frames) and are interpolated to every frame, then grown,
so a moving face stays covered.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import cv2
import ffmpeg
import numpy as np

from laughvid.consent import tracks_without_consent
from laughvid.decode import DecodeReport, VideoError, iter_batches, probe
from laughvid.export.clips import FFMPEG
from laughvid.types import Box, FaceObservation, FaceTrack, ScoreCache

EVERY_FRAME_FPS = 1000.0  # a sampling grid finer than any real frame rate: `iter_batches` keeps every frame
BLOCKS = 5  # a face becomes 5x5 colour blocks, then blurred: no eyes, mouth or outline left to detect


class BlurError(RuntimeError):
    """The clip could not be read or re-encoded; the message says which and why."""


def blur_boxes(frame_rgb: np.ndarray, boxes: Sequence[Box], grow: float = 0.25) -> np.ndarray:
    """A copy of the frame with each face box (grown by `grow` per side, to cover hair and chin) blurred
    beyond recognition. Pixelate-then-blur: a plain Gaussian on a large face can stay recognisable."""
    out = frame_rgb.copy()
    h, w = out.shape[:2]
    for x0, y0, x1, y1 in boxes:
        gx, gy = (x1 - x0) * grow, (y1 - y0) * grow
        a0, b0 = max(int(x0 - gx), 0), max(int(y0 - gy), 0)
        a1, b1 = min(int(np.ceil(x1 + gx)), w), min(int(np.ceil(y1 + gy)), h)
        if a1 <= a0 or b1 <= b0:
            continue
        region = out[b0:b1, a0:a1]
        small = cv2.resize(region, (BLOCKS, BLOCKS), interpolation=cv2.INTER_AREA)
        coarse = cv2.resize(small, (a1 - a0, b1 - b0), interpolation=cv2.INTER_NEAREST)
        k = max(((a1 - a0) // 3) | 1, 3)
        out[b0:b1, a0:a1] = cv2.GaussianBlur(coarse, (k, k), 0)
    return out


class TrackBoxes:
    """Face tracks as arrays, built once, so asking for every frame's boxes stays cheap on long reels."""

    def __init__(self, tracks: Sequence[FaceTrack], hold_s: float = 0.5) -> None:
        self.hold_s = hold_s
        self._tracks = [(np.array([o.time_s for o in t.observations]), np.array([o.box for o in t.observations], float))
                        for t in tracks if t.observations]

    def at(self, time_s: float) -> list[Box]:
        """Each track's box at `time_s`: interpolated between its observations, held `hold_s` past its ends."""
        return [tuple(float(np.interp(time_s, times, coords[:, i])) for i in range(4))
                for times, coords in self._tracks
                if times[0] - self.hold_s <= time_s <= times[-1] + self.hold_s]


def boxes_at(tracks: Sequence[FaceTrack], time_s: float, hold_s: float = 0.5) -> list[Box]:
    """Each track's box at `time_s` (see `TrackBoxes.at`)."""
    return TrackBoxes(tracks, hold_s).at(time_s)


def source_time(t: float, windows: Sequence[tuple[float, float]]) -> float:
    """Source-video time of time `t` in a file made of these source windows laid end to end."""
    for start, end in windows:
        if t < end - start:
            return start + t
        t -= end - start
    return windows[-1][1] if windows else t


def blur_clip(
    clip_path: str | Path, out_path: str | Path, tracks: Sequence[FaceTrack], windows: Sequence[tuple[float, float]],
    crf: int = 20,
) -> Path:
    """Re-encode a clip (or reel) with the faces of `tracks` blurred in every frame; audio is copied.

    `tracks` are the tracks to hide, in source-video time and upright pixels; `windows` are the
    source (start_s, end_s) the file is made of, in order (one for a clip, several for a reel), as
    `export.clips` writes them. Frames are read with `decode` (upright, real timestamps), so a
    stream-copied phone clip (stored sideways plus a rotation tag) gets its boxes in the right place;
    the output holds upright pixels and no tag, so it plays upright everywhere.
    """
    clip_path, out_path = Path(clip_path), Path(out_path)
    if clip_path.resolve() == out_path.resolve():
        raise BlurError(f"{out_path}: write the blurred clip to a new file (the source is still being read)")
    try:
        info = probe(clip_path)
    except VideoError as exc:
        raise BlurError(f"cannot blur: {exc}") from exc
    video = ffmpeg.input("pipe:", format="rawvideo", pix_fmt="rgb24", s=f"{info.width}x{info.height}", r=info.fps or 30)
    streams = [video, ffmpeg.input(str(clip_path)).audio] if info.has_audio else [video]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    encoder = (
        ffmpeg.output(*streams, str(out_path), vcodec="libx264", crf=crf, preset="veryfast", pix_fmt="yuv420p",
                      acodec="copy", movflags="+faststart")
        .global_args("-hide_banner", "-loglevel", "error", "-nostats")  # a full stderr pipe would stall us
        .overwrite_output()
        .run_async(cmd=FFMPEG, pipe_stdin=True, pipe_stderr=True)
    )
    report = DecodeReport()
    track_boxes = TrackBoxes(tracks)
    try:
        for batch in iter_batches(clip_path, fps=EVERY_FRAME_FPS, batch_size=8, max_side=None, info=info, report=report):
            for frame, t in zip(batch.frames, batch.times_s):
                encoder.stdin.write(blur_boxes(frame, track_boxes.at(source_time(float(t), windows))).tobytes())
    finally:
        encoder.stdin.close()
        err = encoder.stderr.read()
        if encoder.wait() != 0:  # the root cause when a write to its stdin broke
            raise BlurError(f"ffmpeg failed to write {out_path.name}: {err.decode(errors='replace').strip()[-300:]}")
    if report.warnings:  # a shortened blurred copy must not replace the full clip
        raise BlurError(f"{clip_path}: not blurred, the clip could not be read in full: {'; '.join(report.warnings)}")
    return out_path


def tracks_from_cache(cache: ScoreCache, track_ids: set[int]) -> list[FaceTrack]:
    """The given raw tracks of an analysis' score cache as FaceTracks (boxes in upright source pixels)."""
    tracks = []
    for tid in sorted(track_ids):
        rows = np.flatnonzero(cache.raw_track_ids == tid)
        tracks.append(FaceTrack(tid, [FaceObservation(float(cache.times_s[i]), tid, tuple(map(float, cache.boxes[i])),
                                                      float(cache.confidences[i]), float(cache.probs[i])) for i in rows]))
    return tracks


def blur_unconsented(conn: sqlite3.Connection, video_sha256: str, cache: ScoreCache,
                     exported: Sequence[tuple[Path, Sequence[tuple[float, float]]]], on: date | None = None) -> list[int]:
    """Blur, in place, every face without `clips` consent in exported files ((path, source windows) per
    file, e.g. `(clip.path, [(clip.window.start_s, clip.window.end_s)])`). Decides per raw track, so a
    stitched or a stored cache blur the same faces. Returns the blurred raw track ids."""
    blocked = tracks_without_consent(conn, video_sha256, np.unique(cache.raw_track_ids).tolist(), "clips", on)
    if not blocked:
        return []
    tracks = tracks_from_cache(cache, blocked)
    for path, windows in exported:
        path = Path(path)
        tmp = path.with_name(path.stem + ".blurring" + path.suffix)
        try:
            blur_clip(path, tmp, tracks, windows)
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
    return sorted(blocked)
