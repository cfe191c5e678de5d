"""Score series from a score cache: the whole video (max over visible faces) and each track.

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


def whole_series(cache: ScoreCache) -> ScoreSeries:
    probs = np.full(len(cache.frame_times_s), np.nan)
    if len(cache.probs):
        idx = _frame_index(cache)
        np.fmax.at(probs, idx, cache.probs)  # fmax ignores the NaN start value
    return ScoreSeries(cache.frame_times_s.copy(), probs, track_id=None)


def track_series(cache: ScoreCache) -> dict[int, ScoreSeries]:
    """One series per track over all analysed frames, NaN where that track is not visible."""
    out = {}
    idx = _frame_index(cache)
    for tid in np.unique(cache.track_ids):
        mine = cache.track_ids == tid
        probs = np.full(len(cache.frame_times_s), np.nan)
        probs[idx[mine]] = cache.probs[mine]
        out[int(tid)] = ScoreSeries(cache.frame_times_s.copy(), probs, track_id=int(tid))
    return out
