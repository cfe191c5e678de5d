"""Stable face ids across frames, and boxes for the analysed frames between detections.

Detection runs on every k-th analysed frame (it is the expensive stage, see analysis.py); the
tracker links those detections into tracks by IoU, falling back to centre distance for fast
motion, and keeps a lost track alive for `max_gap_s` so a face that is missed for a few frames
(turned head, motion blur, a hand in front) keeps its id; a face that reappears at the same place
within `relink_gap_s` (someone looking down for a few seconds in a static shot) keeps it too. Because analysis is offline, frames
between two detection frames get boxes interpolated from both sides (`fill_between`), and tracks
of one person that the tracker could not link (longer absences, a face back elsewhere) are joined
after tracking (`laughvid.pipeline.faces.stitch`).

A detector miss does not make a face vanish (`track_keyframe`): a face seen within `look_again_s`
that no detection matches is looked for again in a region around where its motion puts it (the
region scaled to the detector's input, so a face filling the frame and a small one both reach it
at a size it handles), and if that finds nothing either, a face detected at least `min_hits`
times is carried there, marked not detected, for up to `carry_s`, or until its box leaves the
frame. Measured on laughing faces: docs/pipeline.md.

The state is a small dict (`state()` / `from_state()`) so that an interrupted analysis resumes
with exactly the ids it would have had.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from laughvid.types import Box, Detection


def iou(a: Box, b: Box) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def centre_distance(a: Box, b: Box) -> float:
    """Centre distance in units of the boxes' mean size (scale-free)."""
    size = ((a[2] - a[0]) + (a[3] - a[1]) + (b[2] - b[0]) + (b[3] - b[1])) / 4
    dx = (a[0] + a[2] - b[0] - b[2]) / 2
    dy = (a[1] + a[3] - b[1] - b[3]) / 2
    return float(np.hypot(dx, dy) / max(size, 1e-6))


@dataclass
class TrackerParams:
    iou_threshold: float = 0.3  # same face if boxes overlap this much
    max_centre_distance: float = 0.8  # ... or if centres are this close (in face sizes): fast motion
    max_gap_s: float = 1.0  # keep a lost track's id this long
    relink_gap_s: float = 5.0  # ... and up to this long for a face back at the same place (looked down, static shot)
    relink_iou: float = 0.5  # how well it must overlap its last box to be relinked after max_gap_s
    look_again_s: float = 1.0  # a face missed at a keyframe is looked for again around where it should be this long
    carry_s: float = 1.0  # ... and carried there by its motion this long (<= look_again_s) while no look finds it
    redetect_scale: float = 2.5  # side of the region looked at again, in face sizes
    max_carry_motion_s: float = 0.5  # motion is extrapolated at most this long (a laughing head bobs, it does not fly)
    min_inside: float = 0.5  # a carried face ends once less than this share of its box is inside the frame
    min_hits: int = 2  # only faces detected at least this often are carried (one glimpse may be a false face; looking again settles it)


@dataclass
class _Live:
    box: Box  # where it was last detected
    last_s: float  # when
    velocity: tuple[float, float] = (0.0, 0.0)  # centre motion in pixels per second, from the last detections
    hits: int = 1  # keyframes it was detected on


@dataclass
class Tracker:
    params: TrackerParams = field(default_factory=TrackerParams)
    live: dict[int, _Live] = field(default_factory=dict)
    next_id: int = 0

    def update(self, time_s: float, detections: list[Detection]) -> list[tuple[int, Detection]]:
        """Assign a track id to each detection at `time_s` (greedy, best match first)."""
        p = self.params
        self.live = {tid: t for tid, t in self.live.items() if time_s - t.last_s <= max(p.max_gap_s, p.relink_gap_s)}
        pairs = []
        for tid, track in self.live.items():
            recent = time_s - track.last_s <= p.max_gap_s
            for j, det in enumerate(detections):
                overlap = iou(track.box, det.box)
                if overlap >= (p.iou_threshold if recent else p.relink_iou):
                    pairs.append((recent, overlap, tid, j))
                elif recent and (dist := centre_distance(track.box, det.box)) <= p.max_centre_distance:
                    pairs.append((recent, -dist, tid, j))  # ranks below any IoU match of a recent track
        # Faces seen within max_gap_s come first: a face walking through the spot where another was
        # lost keeps its own id instead of taking the lost one's.
        assigned: dict[int, int] = {}
        used: set[int] = set()
        for *_, tid, j in sorted(pairs, reverse=True):
            if tid not in used and j not in assigned:
                assigned[j] = tid
                used.add(tid)
        result = []
        for j, det in enumerate(detections):
            tid = assigned.get(j)
            if tid is None:
                tid, self.next_id = self.next_id, self.next_id + 1
                self.live[tid] = _Live(det.box, time_s)
            else:
                old = self.live[tid]
                self.live[tid] = _Live(det.box, time_s, _velocity(old, det.box, time_s), old.hits + 1)
            result.append((tid, det))
        return result

    def expected(self, time_s: float, within_s: float, min_hits: int = 1) -> dict[int, Box]:
        """Where each face detected within the last `within_s` (but not at `time_s`), `min_hits` times or more, should be now."""
        p = self.params
        out = {}
        for tid, track in self.live.items():
            if 0 < time_s - track.last_s <= within_s and track.hits >= min_hits:
                dt = min(time_s - track.last_s, p.max_carry_motion_s)
                dx, dy = track.velocity[0] * dt, track.velocity[1] * dt
                x0, y0, x1, y1 = track.box
                out[tid] = (x0 + dx, y0 + dy, x1 + dx, y1 + dy)
        return out

    def missing(self, time_s: float, detections: list[Detection]) -> dict[int, Box]:
        """Expected boxes of recent faces that no detection at `time_s` matches: where to look again."""
        p = self.params
        return {
            tid: box
            for tid, box in self.expected(time_s, p.look_again_s).items()
            if not any(iou(box, d.box) >= p.iou_threshold or centre_distance(box, d.box) <= p.max_centre_distance for d in detections)
        }

    def carried(self, time_s: float, seen: set[int], frame_size: tuple[int, int]) -> dict[int, Detection]:
        """Faces missed at `time_s` but detected within `carry_s`, at their expected place, while still in the frame.

        They are marked `detected=False` with confidence 0 (nothing saw them), and do not refresh the
        track: after `carry_s` without a detection the face is gone from the output.
        """
        width, height = frame_size
        out = {}
        for tid, box in self.expected(time_s, self.params.carry_s, self.params.min_hits).items():
            if tid not in seen and _inside_share(box, width, height) >= self.params.min_inside:
                out[tid] = Detection(_clip(box, width, height), 0.0, detected=False)
        return out

    def state(self) -> dict:
        return {"next_id": self.next_id, "live": {str(t): [list(v.box), v.last_s, list(v.velocity), v.hits] for t, v in self.live.items()}}

    @classmethod
    def from_state(cls, state: dict, params: TrackerParams) -> Tracker:
        """A tracker from `state()`; a state saved before motion was kept ([box, last_s]) resumes with its faces at rest."""
        live = {int(t): _Live(tuple(v[0]), v[1], *([tuple(v[2]), v[3]] if len(v) > 2 else [])) for t, v in state["live"].items()}
        return cls(params=params, live=live, next_id=state["next_id"])


class RegionDetector(Protocol):
    """What tracking needs from face detection (laughvid.pipeline.faces.finder.FaceFinder)."""

    def detect(self, frame_rgb: np.ndarray) -> list[Detection]: ...

    def detect_region(self, frame_rgb: np.ndarray, region: Box) -> list[Detection]: ...

    def scan(self, frame_rgb: np.ndarray) -> list[Detection]: ...


def track_keyframe(
    tracker: Tracker, detector: RegionDetector, frame_rgb: np.ndarray, time_s: float, scan: bool = False
) -> dict[int, Detection]:
    """Detect, look again where a recent face was missed, link, and carry faces still missed: track id -> face.

    The second look covers `redetect_scale` face sizes around where the face should be, so a face
    that fills the frame (a laugh close to the camera) and a small one across the room both reach
    the detector at a size it handles; whatever it finds there joins the frame's detections. With
    `scan`, YuNet also searches the whole frame (at two scales: faces BlazeFace misses, small faces).
    """
    p = tracker.params
    found = detector.detect(frame_rgb)
    if scan:
        found = merge(found, detector.scan(frame_rgb), p.iou_threshold)
    for box in tracker.missing(time_s, found).values():
        cx, cy, side = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2, p.redetect_scale * max(box[2] - box[0], box[3] - box[1])
        near = [
            d
            for d in detector.detect_region(frame_rgb, (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2))
            if centre_distance(box, d.box) <= p.max_centre_distance
        ]
        near = merge(found, near, p.iou_threshold)[len(found) :]
        if near:
            found.append(max(near, key=lambda d: d.confidence))
    faces = dict(tracker.update(time_s, found))
    height, width = frame_rgb.shape[:2]
    faces.update(tracker.carried(time_s, set(faces), (width, height)))
    return faces


def merge(found: list[Detection], more: list[Detection], same_face_iou: float) -> list[Detection]:
    """`found` plus the faces of `more` that overlap none of them (the first list's boxes win)."""
    return found + [m for m in more if all(iou(m.box, f.box) < same_face_iou for f in found)]


def _velocity(track: _Live, box: Box, time_s: float) -> tuple[float, float]:
    """Centre velocity, half the latest step and half the previous estimate (detections jitter)."""
    dt = time_s - track.last_s
    if dt <= 0:
        return track.velocity
    step = ((box[0] + box[2] - track.box[0] - track.box[2]) / 2 / dt, (box[1] + box[3] - track.box[1] - track.box[3]) / 2 / dt)
    return (0.5 * track.velocity[0] + 0.5 * step[0], 0.5 * track.velocity[1] + 0.5 * step[1])


def _inside_share(box: Box, width: int, height: int) -> float:
    area = (box[2] - box[0]) * (box[3] - box[1])
    clipped = _clip(box, width, height)
    return (clipped[2] - clipped[0]) * (clipped[3] - clipped[1]) / area if area > 0 else 0.0


def _clip(box: Box, width: int, height: int) -> Box:
    x0, x1 = min(max(box[0], 0.0), width), min(max(box[2], 0.0), width)
    y0, y1 = min(max(box[1], 0.0), height), min(max(box[3], 0.0), height)
    return (x0, y0, x1, y1)


def fill_between(t0: float, faces0: dict[int, Detection], t1: float, faces1: dict[int, Detection], t: float) -> dict[int, Detection]:
    """Faces at time t0 < t < t1 from the detections on both sides.

    A track seen on both sides is interpolated linearly (box and confidence); one seen on a single
    side is held only over the half of the gap nearer to that side, so a face that appears or
    leaves between detections is neither dropped early nor kept too long.
    """
    w = (t - t0) / (t1 - t0) if t1 > t0 else 0.0
    out = {}
    for tid in faces0.keys() | faces1.keys():
        a, b = faces0.get(tid), faces1.get(tid)
        if a and b:
            box = tuple(float(x) for x in (1 - w) * np.asarray(a.box) + w * np.asarray(b.box))
            out[tid] = Detection(box, (1 - w) * a.confidence + w * b.confidence)
        elif a and w <= 0.5:
            out[tid] = a
        elif b and w > 0.5:
            out[tid] = b
    return out
