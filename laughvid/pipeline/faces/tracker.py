"""Stable face ids across frames, and boxes for the analysed frames between detections.

Detection runs on every k-th analysed frame (it is the expensive stage, see analysis.py); the
tracker links those detections into tracks by IoU, falling back to centre distance for fast
motion, and keeps a lost track alive for `max_gap_s` so a face that is missed for a few frames
(turned head, motion blur, a hand in front) keeps its id; a face that reappears at the same place
within `relink_gap_s` (someone looking down for a few seconds in a static shot) keeps it too. Because analysis is offline, frames
between two detection frames get boxes interpolated from both sides (`fill_between`), and tracks
of one person that the tracker could not link (longer absences, a face back elsewhere) are joined
after tracking (`laughvid.pipeline.faces.stitch`).

The state is a small dict (`state()` / `from_state()`) so that an interrupted analysis resumes
with exactly the ids it would have had.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


@dataclass
class _Live:
    box: Box
    last_s: float


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
            result.append((tid, det))
        return result

    def state(self) -> dict:
        return {"next_id": self.next_id, "live": {str(t): [list(v.box), v.last_s] for t, v in self.live.items()}}

    @classmethod
    def from_state(cls, state: dict, params: TrackerParams) -> Tracker:
        live = {int(t): _Live(tuple(box), last_s) for t, (box, last_s) in state["live"].items()}
        return cls(params=params, live=live, next_id=state["next_id"])


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
