"""Offline track stitching: one id per person across a whole video.

The tracker decides frame by frame, so a face that is out of view or undetected for longer than it
waits (`TrackerParams.max_gap_s`, or `relink_gap_s` at the same place) and comes back elsewhere (the
camera re-framed, the person moved) gets a new id. Analysis is offline: once every frame is tracked,
a track that starts after another one ended, near where that one was (or was heading) and about as
big, is the same person and gets its id. Two tracks that share an analysed frame are never joined
(two faces at once are two people), and nothing is joined across more than `max_gap_s`.

Tracks the detector found fewer than `min_detections` times (a false detection, a face glimpsed in
a whip pan) are fragments: too little to place reliably, so they join nothing and are not persons.
They keep their own id in the cache (they still count in the whole-video series, and exported clips
still blur them) but get no per-person timeline.

A person keeps the id of their first track. Stitching is a pure function of the stored
observations, so a fresh, a cached and a resumed analysis give the same persons; the store keeps the
tracker's raw ids, and so does the stitched cache (`ScoreCache.raw_track_ids`): consent links name
those, because a person joined by time, place and size alone may be two people taking turns.
"""

from __future__ import annotations

import bisect
import dataclasses
from dataclasses import dataclass

import numpy as np

from laughvid.pipeline.faces.tracker import centre_distance
from laughvid.types import Box, ScoreCache


@dataclass(frozen=True)
class StitchParams:
    max_gap_s: float = 5.0  # longest absence bridged (the tracker's same-place relink horizon)
    max_centre_distance: float = 1.0  # face sizes between where a track ended (or was heading) and the next began ...
    drift_per_s: float = 0.25  # ... plus this much per second of absence (people and the camera move)
    max_size_ratio: float = 2.0  # bigger / smaller face (zoom, walking closer)
    velocity_window_s: float = 1.0  # a track's heading is its motion over its last this-many seconds
    min_detections: int = 3  # a track detected fewer times is a fragment, not a person


@dataclass(frozen=True)
class Stitched:
    cache: ScoreCache  # the observations with one id per person (the id of that person's first track)
    fragments: tuple[int, ...]  # ids in `cache` of faces seen too briefly to be a person


@dataclass(frozen=True)
class _Track:
    track_id: int
    start_s: float
    end_s: float
    first_box: Box
    last_box: Box
    velocity: tuple[float, float]  # pixels per second at the end


def stitch(cache: ScoreCache, params: StitchParams = StitchParams()) -> Stitched:
    """Join the tracks of one person; see the module docstring."""
    ids, inverse = np.unique(cache.track_ids, return_inverse=True)
    rows = np.split(np.argsort(inverse, kind="stable"), np.cumsum(np.bincount(inverse, minlength=len(ids)))[:-1])
    fragments = tuple(int(t) for t, r in zip(ids, rows, strict=False) if cache.detected[r].sum() < params.min_detections)
    tracks = [_track(cache, int(t), r, params.velocity_window_s) for t, r in zip(ids, rows, strict=False) if int(t) not in fragments]
    person = {t: t for t in ids.tolist()}
    for prev, nxt in _links(tracks, params):
        person[nxt] = person[prev]  # links come in time order, so `prev` already has its person
    relabelled = np.array([person[t] for t in ids.tolist()], np.int64)[inverse]
    return Stitched(dataclasses.replace(cache, track_ids=relabelled), fragments)  # raw_track_ids: still the tracker's


def _track(cache: ScoreCache, track_id: int, rows: np.ndarray, window_s: float) -> _Track:
    times, boxes = cache.times_s[rows], cache.boxes[rows]  # in time order, as the store loads them
    recent = np.flatnonzero(times >= times[-1] - window_s)[0]
    dt = times[-1] - times[recent]
    shift = (boxes[-1] - boxes[recent]) / dt if dt > 0 else np.zeros(4)
    velocity = (float(shift[0] + shift[2]) / 2, float(shift[1] + shift[3]) / 2)
    return _Track(track_id, float(times[0]), float(times[-1]), tuple(map(float, boxes[0])), tuple(map(float, boxes[-1])), velocity)


def _links(tracks: list[_Track], params: StitchParams) -> list[tuple[int, int]]:
    """(earlier, later) track id pairs to join, cheapest first, each track at most once per side.

    A later track must start after the earlier one ended, so a chain of links never puts two of
    its tracks in one frame.
    """
    by_start = sorted(tracks, key=lambda t: t.start_s)
    starts = [t.start_s for t in by_start]
    pairs = []
    for prev in tracks:
        first = bisect.bisect_right(starts, prev.end_s)
        last = bisect.bisect_right(starts, prev.end_s + params.max_gap_s)
        for nxt in by_start[first:last]:
            if (cost := _cost(prev, nxt, params)) is not None:
                pairs.append((cost, nxt.start_s, prev.track_id, nxt.track_id))
    has_next, has_prev, links = set(), set(), []
    for _, start_s, prev_id, next_id in sorted(pairs):
        if prev_id not in has_next and next_id not in has_prev:
            has_next.add(prev_id)
            has_prev.add(next_id)
            links.append((start_s, prev_id, next_id))
    return [(prev_id, next_id) for _, prev_id, next_id in sorted(links)]


def _cost(prev: _Track, nxt: _Track, params: StitchParams) -> float | None:
    """How unlike one person the pair looks (0 = same place and size), or None when implausible."""
    gap = nxt.start_s - prev.end_s
    dx, dy = prev.velocity[0] * gap, prev.velocity[1] * gap
    x0, y0, x1, y1 = prev.last_box
    heading = (x0 + dx, y0 + dy, x1 + dx, y1 + dy)
    distance = min(centre_distance(prev.last_box, nxt.first_box), centre_distance(heading, nxt.first_box))
    distance /= params.max_centre_distance + params.drift_per_s * gap
    size = abs(np.log(_size(nxt.first_box) / _size(prev.last_box))) / np.log(params.max_size_ratio)
    return float(distance + size) if distance <= 1 and size <= 1 else None


def _size(box: Box) -> float:
    return max((box[2] - box[0] + box[3] - box[1]) / 2, 1e-6)
