"""Blurring the faces of people who did not consent, in frames and in exported clips.

The clip exporter cuts clips and reels with ffmpeg; `unconsented_faces` gives the optional last step
it runs on each file before putting it in place: every raw face track (the tracker's, never a
stitched person) not linked to a participant with `clips` consent (`consent.tracks_without_consent`)
is blurred, so consent given for one face of a person that stitching joined from two people does
not uncover the other. Boxes come from the analysis' score cache (analysed frames) and are
interpolated to every frame, then grown, so a moving face stays covered.

Blurring checks what it did: every box the cache has for a hidden track inside the file's time
range must have been blurred on the frame at that time, or the file is refused. A box outside the
frame or past the file's end (boxes from another video, a clip shorter than asked for) would
otherwise leave that face visible in a file reported as blurred.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import cv2
import ffmpeg
import numpy as np

from laughvid.atomic import atomic_path
from laughvid.errors import BlurError, ExportCancelled, VideoError
from laughvid.export import ffmpeg as ffmpeg_run
from laughvid.export.progress import OnTime
from laughvid.governance.consent import tracks_without_consent
from laughvid.pipeline.decode import DecodeReport, iter_batches, probe
from laughvid.types import Box, FaceObservation, FaceTrack, ScoreCache

EVERY_FRAME_FPS = 1000.0  # a sampling grid finer than any real frame rate: `iter_batches` keeps every frame
BLOCKS = 5  # a face becomes 5x5 colour blocks, then blurred: no eyes, mouth or outline left to detect


def blur_region(box: Box, shape: tuple[int, ...], grow: float = 0.25) -> tuple[int, int, int, int] | None:
    """The pixels (x0, y0, x1, y1) blurring `box` covers: grown by `grow` per side (hair and chin),
    clipped to a frame of `shape`; None when none of it lies in the frame."""
    x0, y0, x1, y1 = box
    h, w = shape[:2]
    gx, gy = (x1 - x0) * grow, (y1 - y0) * grow
    a0, b0 = max(int(x0 - gx), 0), max(int(y0 - gy), 0)
    a1, b1 = min(int(np.ceil(x1 + gx)), w), min(int(np.ceil(y1 + gy)), h)
    return (a0, b0, a1, b1) if a1 > a0 and b1 > b0 else None


def blur_boxes(frame_rgb: np.ndarray, boxes: Sequence[Box], grow: float = 0.25) -> np.ndarray:
    """A copy of the frame with each face box's `blur_region` blurred beyond recognition.
    Pixelate-then-blur: a plain Gaussian on a large face can stay recognisable."""
    out = frame_rgb.copy()
    for box in boxes:
        if (region_box := blur_region(box, out.shape, grow)) is None:
            continue
        a0, b0, a1, b1 = region_box
        small = cv2.resize(out[b0:b1, a0:a1], (BLOCKS, BLOCKS), interpolation=cv2.INTER_AREA)
        out[b0:b1, a0:a1] = _smoothed_blocks(small, a1 - a0, b1 - b0)
    return out


def _smoothed_blocks(small: np.ndarray, width: int, height: int, taps: int = 15) -> np.ndarray:
    """The BLOCKS x BLOCKS colours enlarged to `width` x `height` as blocks, then Gaussian-blurred with a
    kernel a third of the width wide. The blur runs at the scale where that kernel has about `taps`
    taps, then is enlarged linearly: the blocks hold no detail to lose, so the result differs from a
    full-size blur by about one grey level (max 9 of 255 on a 450 px face), while a 151-tap kernel on
    a 1080p face cost 70 ms a frame, most of a blurred export's time (issue 12: 43 s for 1.8 s)."""
    k = max((width // 3) | 1, 3)
    step = max(1, k // taps)
    low_w, low_h = max(BLOCKS, -(-width // step)), max(BLOCKS, -(-height // step))
    low = cv2.resize(small, (low_w, low_h), interpolation=cv2.INTER_NEAREST)
    low = cv2.GaussianBlur(low, (max((k // step) | 1, 3),) * 2, 0)
    return cv2.resize(low, (width, height), interpolation=cv2.INTER_LINEAR if step > 1 else cv2.INTER_NEAREST)


class TrackBoxes:
    """Face tracks as arrays, built once, so asking for every frame's boxes stays cheap on long reels."""

    def __init__(self, tracks: Sequence[FaceTrack], hold_s: float = 0.5) -> None:
        self.hold_s = hold_s
        self._tracks = {
            t.track_id: (np.array([o.time_s for o in t.observations]), np.array([o.box for o in t.observations], float))
            for t in tracks
            if t.observations
        }

    def by_track(self, time_s: float) -> dict[int, Box]:
        """Each track's box at `time_s`: interpolated between its observations, held `hold_s` past its ends."""
        return {
            tid: tuple(float(np.interp(time_s, times, coords[:, i])) for i in range(4))
            for tid, (times, coords) in self._tracks.items()
            if times[0] - self.hold_s <= time_s <= times[-1] + self.hold_s
        }

    def at(self, time_s: float) -> list[Box]:
        return list(self.by_track(time_s).values())

    def observed_in(self, windows: Sequence[tuple[float, float]]) -> dict[int, np.ndarray]:
        """Per track, the times of its observations (the boxes the cache has) inside the windows."""
        return {
            tid: times[np.any([(times >= a) & (times < b) for a, b in windows], axis=0)] if windows else times[:0]
            for tid, (times, _) in self._tracks.items()
        }


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
    clip_path: str | Path,
    out_path: str | Path,
    tracks: Sequence[FaceTrack],
    windows: Sequence[tuple[float, float]],
    crf: int = 20,
    on_time: OnTime | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Re-encode a clip (or reel) with the faces of `tracks` blurred in every frame; audio is copied.

    `tracks` are the tracks to hide, in source-video time and upright pixels; `windows` are the
    source (start_s, end_s) the file is made of, in order (one for a clip, several for a reel), as
    `export.clips` writes them. Frames are read with `decode` (upright, real timestamps), so a
    stream-copied phone clip (stored sideways plus a rotation tag) gets its boxes in the right place;
    the output holds upright pixels and no tag, so it plays upright everywhere. The output appears
    only when every box of `tracks` inside `windows` was blurred (see `missed_boxes`).

    `on_time` hears the seconds of the file blurred, after each batch of frames; `cancel` is checked
    at every frame: when set, the encoder is killed and ExportCancelled raised, leaving no output.
    """
    clip_path, out_path = Path(clip_path), Path(out_path)
    if clip_path.resolve() == out_path.resolve():
        raise BlurError(f"{out_path}: write the blurred clip to a new file (the source is still being read)")
    try:
        info = probe(clip_path)
    except VideoError as exc:
        raise BlurError(f"cannot blur: {exc}") from exc
    track_boxes = TrackBoxes(tracks)
    blurred: dict[int, list[float]] = {t.track_id: [] for t in tracks}
    with atomic_path(out_path) as tmp:
        video = ffmpeg.input("pipe:", format="rawvideo", pix_fmt="rgb24", s=f"{info.width}x{info.height}", r=info.fps or 30)
        streams = [video, ffmpeg.input(str(clip_path)).audio] if info.has_audio else [video]
        encoder = ffmpeg_run.start(
            ffmpeg.output(
                *streams, str(tmp), vcodec="libx264", crf=crf, preset="veryfast", pix_fmt="yuv420p", acodec="copy", movflags="+faststart"
            )
        )
        report = DecodeReport()
        batches = iter_batches(clip_path, fps=EVERY_FRAME_FPS, batch_size=8, max_side=None, info=info, report=report)
        try:
            with contextlib.closing(batches):  # a cancel closes the decoder now, not when collected
                for batch in batches:
                    for frame, t in zip(batch.frames, batch.times_s, strict=False):
                        if cancel is not None and cancel.is_set():
                            raise ExportCancelled()
                        at = source_time(float(t), windows)
                        boxes = track_boxes.by_track(at)
                        encoder.stdin.write(blur_boxes(frame, list(boxes.values())).data)  # no 6 MB copy per 1080p frame
                        for tid, box in boxes.items():
                            if blur_region(box, frame.shape) is not None:
                                blurred[tid].append(at)
                    if on_time is not None:
                        on_time(float(batch.times_s[-1]))
        except BrokenPipeError:
            pass  # the encoder stopped reading: its exit status and stderr below say why
        except BaseException:
            ffmpeg_run.kill(encoder)  # a cancel, Ctrl-C or a decode error: no encoder left running
            raise
        with contextlib.suppress(BrokenPipeError):
            encoder.stdin.close()
        err = encoder.stderr.read()
        if encoder.wait() != 0:  # the root cause when a write to its stdin broke
            raise BlurError(f"ffmpeg failed to write {out_path.name}: {ffmpeg_run.stderr_tail(err)}")
        if report.warnings:  # a shortened blurred copy must not replace the full clip
            raise BlurError(f"{clip_path}: not blurred, the clip could not be read in full: {'; '.join(report.warnings)}")
        missed = missed_boxes(track_boxes.observed_in(windows), blurred, 1.0 / (info.fps or 30))
        if missed:
            counts = "; ".join(f"raw track {tid}: {n - m} of its {n} boxes" for tid, (n, m) in sorted(missed.items()))
            raise BlurError(
                f"{clip_path.name}: faces left unblurred ({counts} in this file's time range were not blurred: "
                f"they lie outside its {info.width}x{info.height} frame or past its end, as when the video is "
                "not the analysed one); nothing was written"
            )
    return out_path


def missed_boxes(observed: dict[int, np.ndarray], blurred: dict[int, list[float]], tolerance_s: float) -> dict[int, tuple[int, int]]:
    """Tracks with a box the blur did not cover: {track id: (boxes the cache has, boxes blurred)}.

    `observed`: per track, the source times of its cached boxes inside the file; `blurred`: per
    track, the source times of the frames where its box was blurred. A box counts as blurred when a
    frame within `tolerance_s` (one frame) of its time blurred that track."""
    missed = {}
    for tid, times in observed.items():
        done = np.sort(np.asarray(blurred.get(tid, []), float))
        hits = 0
        if len(done):
            i = np.searchsorted(done, times)
            before, after = done[np.clip(i - 1, 0, len(done) - 1)], done[np.clip(i, 0, len(done) - 1)]
            hits = int(np.count_nonzero(np.minimum(np.abs(times - before), np.abs(after - times)) <= tolerance_s + 1e-6))
        if hits < len(times):
            missed[tid] = (len(times), hits)
    return missed


def tracks_from_cache(cache: ScoreCache, track_ids: set[int]) -> list[FaceTrack]:
    """The given raw tracks of an analysis' score cache as FaceTracks (boxes in upright source pixels)."""
    tracks = []
    for tid in sorted(track_ids):
        rows = np.flatnonzero(cache.raw_track_ids == tid)
        tracks.append(
            FaceTrack(
                tid,
                [
                    FaceObservation(
                        float(cache.times_s[i]), tid, tuple(map(float, cache.boxes[i])), float(cache.confidences[i]), float(cache.probs[i])
                    )
                    for i in rows
                ],
            )
        )
    return tracks


@dataclass(frozen=True)
class FaceBlur:
    """The faces one export must hide; called on each written file (export.clips' `finish` step)."""

    tracks: tuple[FaceTrack, ...]

    @property
    def track_ids(self) -> list[int]:
        return [t.track_id for t in self.tracks]

    def __call__(
        self, path: str | Path, windows: Sequence[tuple[float, float]], on_time: OnTime | None = None, cancel: threading.Event | None = None
    ) -> None:
        """Blur the faces in the file at `path` (made of these source windows), in place; raises
        BlurError, leaving the file as it was, when any box of theirs was not blurred (ExportCancelled
        when `cancel` is set; `on_time` hears the seconds blurred)."""
        if self.tracks:
            with atomic_path(path) as blurred:
                blur_clip(path, blurred, self.tracks, windows, on_time=on_time, cancel=cancel)


def unconsented_faces(
    conn: sqlite3.Connection, video_sha256: str, cache: ScoreCache, on: date | None = None, analysis: str = ""
) -> FaceBlur:
    """Every face of the analysis without `clips` consent. Decides per raw track, so a stitched or a
    stored cache blur the same faces; `analysis` is the fingerprint of the analysis `cache` comes from
    (links made on another analysis name other raw ids: `tracks_without_consent`)."""
    blocked = tracks_without_consent(conn, video_sha256, np.unique(cache.raw_track_ids).tolist(), "clips", on, analysis)
    return FaceBlur(tuple(tracks_from_cache(cache, blocked)))
