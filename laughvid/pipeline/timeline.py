"""Series from a score cache: the whole video (max over visible faces) and each track, of the laugh
probability or of any other per-face value (the laugh intensity).

"Max over faces" because a laugh anywhere in the shot is a laugh moment; frames with no visible
face are NaN (unknown), not 0, so the UI can show gaps and smoothing can decide what they mean.
"""

from __future__ import annotations

import numpy as np

from laughvid.types import ScoreCache, ScoreSeries


def _frame_index(cache: ScoreCache) -> np.ndarray:
    """For each observation, the index of its analysed frame in `cache.frame_times_s`."""
    idx = np.searchsorted(cache.frame_times_s, cache.times_s)
    return np.clip(idx, 0, max(len(cache.frame_times_s) - 1, 0))


def whole_series(cache: ScoreCache, values: np.ndarray | None = None) -> ScoreSeries:
    """Per analysed frame, the max of `values` (one per face row; default the laugh probability) over
    the faces there; NaN where no face is visible or no face has a value."""
    values = cache.probs if values is None else values
    probs = np.full(len(cache.frame_times_s), np.nan)
    if len(values):
        idx = _frame_index(cache)
        np.fmax.at(probs, idx, values)  # fmax ignores NaN (the start value, and faces without a value)
    return ScoreSeries(cache.frame_times_s.copy(), probs, track_id=None)


def track_series(cache: ScoreCache, values: np.ndarray | None = None) -> dict[int, ScoreSeries]:
    """One series per track over all analysed frames, NaN where that track is not visible."""
    values = cache.probs if values is None else values
    out = {}
    idx = _frame_index(cache)
    for tid in np.unique(cache.track_ids):
        mine = cache.track_ids == tid
        probs = np.full(len(cache.frame_times_s), np.nan)
        probs[idx[mine]] = values[mine]
        out[int(tid)] = ScoreSeries(cache.frame_times_s.copy(), probs, track_id=int(tid))
    return out


def peak_between(series: ScoreSeries, start_s: float, end_s: float) -> float | None:
    """The series' highest value in [start_s, end_s); None where it has none there."""
    inside = series.probs[(series.times_s >= start_s) & (series.times_s < end_s)]
    inside = inside[~np.isnan(inside)]
    return float(inside.max()) if len(inside) else None
