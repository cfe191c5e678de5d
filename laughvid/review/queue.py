"""Active learning: which unreviewed faces would a label help most?

Three signals, each in [0, 1], mixed by `RankWeights`:
- uncertainty: the face's probability is close to the threshold segments are cut at (the smoothing's
  `on_threshold`, the one the app's sidebar sets; not the model card's operating point, which no segment
  uses), so the decision could flip either way;
- disagreement: the smoothed score (what the segments are built from) and the raw frame score
  disagree, i.e. the frame is an outlier the smoothing overrode, or a real short laugh it erased;
- rarity: conditions the pretraining data has little of (small faces, dark frames, and low detector
  confidence, which in practice means extreme pose or occlusion).
Picks are spread out in time per face track (`min_gap_s`): ten near-identical neighbouring frames
teach the model less than ten different moments. `order="intensity"` puts the biggest laughs first
instead (laugh intensity, from face geometry; faces without it come after all that have it).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

import numpy as np

from laughvid import review, store
from laughvid.pipeline import timeline
from laughvid.pipeline.faces.stitch import stitch
from laughvid.pipeline.segments import SmoothingParams, smooth
from laughvid.review.intensity import biggest_first_key
from laughvid.store import AnalysisRecord


@dataclass(frozen=True)
class Candidate:
    """One scored, unreviewed face. `key` is whatever identifies it to the caller (a crop path, or
    (video, time, track)); `video`/`track_id`/`time_s` drive spreading picks out in time."""

    key: object
    prob: float
    smoothed_prob: float | None = None
    face_px: float | None = None  # face box height in pixels
    brightness: float | None = None  # mean luma of the face crop, 0-255
    detector_confidence: float | None = None
    video: str = ""
    track_id: int | None = None
    time_s: float | None = None
    intensity: float | None = None  # how big the laugh is, 0..1 (None: no face geometry)


ORDERS = ("useful", "intensity")  # most useful label first (default); biggest laugh first
BIG_LAUGH = 0.6  # intensity from which a moment is called a big laugh in its reasons


@dataclass(frozen=True)
class RankWeights:
    uncertainty: float = 0.6
    disagreement: float = 0.25
    rarity: float = 0.15
    small_face_px: float = 48.0  # below this a face counts as small (rarity 1 at a quarter of it)
    dark_luma: float = 60.0  # mean crop luma below this counts as dark
    low_confidence: float = 0.75  # detector confidence below this counts as hard pose/occlusion


@dataclass(frozen=True)
class RankedItem:
    candidate: Candidate
    score: float
    uncertainty: float
    disagreement: float
    rarity: float
    reasons: tuple[str, ...] = field(default=())


def _ramp(value: float | None, start: float, full: float) -> float:
    """0 at `start`, 1 at `full` (either direction), clipped; 0 when unknown."""
    if value is None or start == full:
        return 0.0
    return float(np.clip((value - start) / (full - start), 0.0, 1.0))


def score_candidate(c: Candidate, threshold: float, w: RankWeights = RankWeights()) -> RankedItem:
    """All three signals for one face, with human-readable reasons for the ones that fire."""
    uncertainty = 1.0 - min(abs(c.prob - threshold) / max(threshold, 1.0 - threshold), 1.0)
    disagreement = 0.0 if c.smoothed_prob is None else min(abs(c.prob - c.smoothed_prob) / 0.5, 1.0)
    small = _ramp(c.face_px, w.small_face_px, w.small_face_px / 4)
    dark = _ramp(c.brightness, w.dark_luma, w.dark_luma / 3)
    hard = _ramp(c.detector_confidence, w.low_confidence, 0.5)
    rarity = max(small, dark, hard)
    reasons = []
    if uncertainty >= 0.7:
        reasons.append(f"uncertain (p={c.prob:.2f}, threshold {threshold:.2f})")
    if disagreement >= 0.4:
        reasons.append(f"smoothing disagrees (raw {c.prob:.2f} vs smoothed {c.smoothed_prob:.2f})")
    if small > 0:
        reasons.append(f"small face ({c.face_px:.0f} px)")
    if dark > 0:
        reasons.append(f"dark (mean luma {c.brightness:.0f})")
    if hard > 0:
        reasons.append(f"hard pose/occlusion (detector {c.detector_confidence:.2f})")
    if c.intensity is not None and c.intensity >= BIG_LAUGH:
        reasons.append(f"big laugh (intensity {c.intensity:.2f})")
    score = w.uncertainty * uncertainty + w.disagreement * disagreement + w.rarity * rarity
    return RankedItem(c, float(score), float(uncertainty), float(disagreement), float(rarity), tuple(reasons))


def rank(
    candidates: list[Candidate],
    threshold: float,
    k: int | None = None,
    min_gap_s: float = 1.0,
    weights: RankWeights = RankWeights(),
    order: str = "useful",
) -> list[RankedItem]:
    """The `k` most useful candidates to label (all if None), best first, at most one per track
    within `min_gap_s` seconds; with `order="intensity"` the biggest laughs first (ties: most useful)."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    scored = sorted((score_candidate(c, threshold, weights) for c in candidates), key=lambda r: -r.score)
    if order == "intensity":
        scored.sort(key=lambda r: biggest_first_key(r.candidate.intensity)[:2])  # stable: ties keep the useful order
    picked: list[RankedItem] = []
    taken: dict[tuple[str, int | None], list[float]] = {}
    for r in scored:
        c = r.candidate
        if c.time_s is not None:
            times = taken.setdefault((c.video, c.track_id), [])
            if any(abs(c.time_s - t) < min_gap_s for t in times):
                continue
            times.append(c.time_s)
        picked.append(r)
        if k is not None and len(picked) >= k:
            break
    return picked


def crop_brightness(crop: np.ndarray) -> float:
    """Mean luma of a face crop (grey or RGB uint8)."""
    if crop.ndim == 3:
        crop = crop @ np.array([0.299, 0.587, 0.114])
    return float(crop.mean())


def review_queue(
    conn: sqlite3.Connection,
    k: int = 20,
    params: SmoothingParams = SmoothingParams(),
    min_gap_s: float = 1.0,
    weights: RankWeights = RankWeights(),
    order: str = "useful",
) -> list[RankedItem]:
    """The "review next" queue over every finished analysis in the store (latest analysis per video):
    faces not yet covered by a reviewed segment, in videos not marked fully reviewed, ranked against
    `params.on_threshold` (as the app ranks them). Candidate keys are (video sha256, time_s, track_id). Brightness is not in
    the score cache, so only face size and detector confidence count as rare conditions here. `order`:
    see `rank`."""
    latest: dict[str, AnalysisRecord] = {}
    for a in store.list_analyses(conn, status="done"):  # newest first
        latest.setdefault(a.sha256, a)
    candidates = []
    for sha, analysis in latest.items():
        if review.completed(conn, sha):
            continue
        reviewed = [(s.start_s, s.end_s) for s in review.stored(conn, sha, include_deleted=True) if s.state != "pending"]
        cache = stitch(store.load_cache(conn, analysis.id)).cache  # person ids, as the timeline shows them
        laugh = timeline.track_average(cache, params.score_window_s)  # what the timeline shows
        smoothed = {tid: smooth(series, params) for tid, series in timeline.track_series(cache, laugh).items()}
        frame_of = np.searchsorted(cache.frame_times_s, cache.times_s)
        for i, t in enumerate(cache.times_s):
            if any(a <= t < b for a, b in reviewed):
                continue
            tid = int(cache.track_ids[i])
            x0, y0, x1, y1 = cache.boxes[i]
            intensity = float(cache.intensity[i])
            candidates.append(
                Candidate(
                    key=(sha, float(t), tid),
                    prob=float(cache.probs[i]),
                    smoothed_prob=float(smoothed[tid][frame_of[i]]),
                    face_px=float(y1 - y0),
                    detector_confidence=float(cache.confidences[i]),
                    video=analysis.name,
                    track_id=tid,
                    time_s=float(t),
                    intensity=None if np.isnan(intensity) else intensity,
                )
            )
    return rank(candidates, params.on_threshold, k=k, min_gap_s=min_gap_s, weights=weights, order=order)
