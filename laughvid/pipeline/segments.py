"""Smoothing a laugh-probability series into laugh segments.

Frame scores flicker (blinks, talking, a turned head), so segments come from a pipeline of simple,
separately tunable steps: fill short no-face gaps, median filter, then either hysteresis
thresholds (enter above `on_threshold`, leave below `off_threshold`) or a two-state HMM decoded
with Viterbi, then merge segments separated by short gaps and drop too-short ones. The series
comes in already averaged per person over `score_window_s` (laughvid.pipeline.timeline.track_average).
Defaults (window 1 s, on/off 0.5/0.4, median 0.5 s, merge 1 s, min 0.3 s) are the choice of
`scripts/tune_smoothing.py --cv --grid temporal --max-talking 0.02` on the 106-clip video dev set
(41 sources, leave-one-source-out: event F1 0.429 -> 0.578, frame F1 0.858 -> 0.892, frame ROC-AUC
0.957 -> 0.969, talking-only frames flagged 0.019; docs/model.md). Before, they came from 12 clips.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass

import numpy as np

from laughvid.types import ScoreSeries, Segment

DECODE_MODES = ("per_person", "whole_video")


@dataclass(frozen=True)
class SmoothingParams:
    median_s: float = 0.5  # median filter width (seconds); 0 = off
    on_threshold: float = 0.5  # a segment starts when the smoothed score reaches this
    off_threshold: float = 0.4  # ... and ends when it falls below this (<= on_threshold)
    min_duration_s: float = 0.3  # shorter segments are dropped (after merging)
    merge_gap_s: float = 1.0  # segments closer than this are merged
    fill_gap_s: float = 0.5  # no-face gaps up to this long are bridged (missed detections); longer = not laughing
    hmm: bool = False  # Viterbi two-state decoding instead of hysteresis
    hmm_switch_prob: float = 0.05  # per-frame probability of switching state (lower = fewer, longer segments)
    decode: str = "per_person"  # "per_person": decide on each person's series, then combine; "whole_video": on the max over faces
    extend_onset: bool = False  # a segment starts where the score rose above off_threshold, not where it reached on_threshold
    merge_ratio: float = 0.0  # gaps shorter than this times the shorter neighbouring segment are merged too (0 = off)
    # the timeline's laugh probability is each face's averaged over its own track within this window, centred (seconds,
    # 0 = off); applied where the cache is read (laughvid.pipeline.timeline.track_average), before the steps here
    score_window_s: float = 1.0

    def __post_init__(self) -> None:
        if self.decode not in DECODE_MODES:
            raise ValueError(f"decode must be one of {', '.join(DECODE_MODES)}, got {self.decode!r}")
        if not 0 <= self.off_threshold <= self.on_threshold <= 1:
            raise ValueError(f"need 0 <= off_threshold <= on_threshold <= 1, got off={self.off_threshold}, on={self.on_threshold}")
        durations = {
            "median_s": self.median_s,
            "min_duration_s": self.min_duration_s,
            "merge_gap_s": self.merge_gap_s,
            "fill_gap_s": self.fill_gap_s,
            "merge_ratio": self.merge_ratio,
            "score_window_s": self.score_window_s,
        }
        for name, value in durations.items():
            if not math.isfinite(value) or value < 0:  # NaN passes `< 0`
                raise ValueError(f"{name} must be a number of seconds >= 0, got {value}")
        if not 0 < self.hmm_switch_prob < 0.5:
            raise ValueError(f"hmm_switch_prob must be in (0, 0.5), got {self.hmm_switch_prob}")

    def hash(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


def _step_s(times: np.ndarray) -> float:
    return float(np.median(np.diff(times))) if len(times) > 1 else 0.1


def fill_gaps(times: np.ndarray, probs: np.ndarray, max_gap_s: float) -> np.ndarray:
    """Linearly bridge NaN runs no longer than `max_gap_s` that have scores on both sides; others -> 0."""
    out = probs.astype(np.float64).copy()
    valid = np.flatnonzero(~np.isnan(out))
    if len(valid) == 0:
        return np.zeros_like(out)
    for a, b in zip(valid[:-1], valid[1:], strict=False):
        if b - a > 1 and times[b] - times[a] <= max_gap_s + 1e-9:
            out[a + 1 : b] = np.interp(times[a + 1 : b], [times[a], times[b]], [out[a], out[b]])
    return np.nan_to_num(out, nan=0.0)


def median_filter(values: np.ndarray, width: int) -> np.ndarray:
    if width <= 1 or len(values) == 0:
        return values
    width += 1 - width % 2  # odd, centred
    padded = np.pad(values, width // 2, mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, width), axis=1)


def smooth(series: ScoreSeries, params: SmoothingParams) -> np.ndarray:
    """The filtered score the decision is made on (no NaN)."""
    filled = fill_gaps(series.times_s, series.probs, params.fill_gap_s)
    return median_filter(filled, round(params.median_s / _step_s(series.times_s)))


def hysteresis(values: np.ndarray, on: float, off: float, both_ways: bool = False) -> np.ndarray:
    """Enter at `on`, leave below `off`. `both_ways`: also walk back from where `on` is reached to where
    the score rose above `off` (a laugh's onset is the start of the climb, not its top: on real video the
    forward-only rule started segments 0.5-1 s late, beyond the 0.5 s event collar)."""
    if both_ways:
        above = values >= off
        keep = np.zeros(len(values), bool)
        for a, b in _runs(above):
            keep[a:b] = bool(np.any(values[a:b] >= on))
        return keep
    state = np.zeros(len(values), bool)
    active = False
    for i, v in enumerate(values):
        active = v >= off if active else v >= on
        state[i] = active
    return state


def viterbi(values: np.ndarray, threshold: float, switch_prob: float) -> np.ndarray:
    """Most likely laugh/not-laugh path; a frame's evidence is its log-odds against `threshold`."""
    p = np.clip(values, 1e-4, 1 - 1e-4)
    t = min(max(threshold, 1e-4), 1 - 1e-4)
    evidence = np.log(p / (1 - p)) - np.log(t / (1 - t))
    emit = np.stack([-evidence / 2, evidence / 2], axis=1)  # log-likelihood of states 0, 1
    stay, switch = np.log1p(-switch_prob), np.log(switch_prob)
    trans = np.array([[stay, switch], [switch, stay]])
    n = len(values)
    score = emit[0].copy()
    back = np.zeros((n, 2), np.int8)
    for i in range(1, n):
        cand = score[:, None] + trans  # from-state x to-state
        back[i] = np.argmax(cand, axis=0)
        score = cand[back[i], [0, 1]] + emit[i]
    path = np.zeros(n, bool)
    state = int(np.argmax(score))
    for i in range(n - 1, -1, -1):
        path[i] = bool(state)
        state = back[i, state]
    return path


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index ranges where mask is True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=False))


def decide(series: ScoreSeries, params: SmoothingParams) -> np.ndarray:
    """Laughing or not, per analysed frame of one series (smoothed, then hysteresis or Viterbi)."""
    values = smooth(series, params)
    if params.hmm:
        return viterbi(values, params.on_threshold, params.hmm_switch_prob)
    return hysteresis(values, params.on_threshold, params.off_threshold, params.extend_onset)


def unattributed(series: ScoreSeries, tracks: dict[int, ScoreSeries]) -> ScoreSeries:
    """The whole-video score where no person is visible: faces too brief to be a person (fragments)
    still count, as they do in the whole-video series."""
    seen = np.zeros(len(series.times_s), bool)
    for s in tracks.values():
        seen |= ~np.isnan(s.probs)
    return ScoreSeries(series.times_s, np.where(seen, np.nan, series.probs), track_id=None)


def find_segments(
    series: ScoreSeries,
    params: SmoothingParams = SmoothingParams(),
    tracks: dict[int, ScoreSeries] | None = None,
    end_s: float | None = None,
) -> list[Segment]:
    """Laugh segments of a video; each carries peak/mean raw probability and the persons that laughed.

    Per-person decoding (the default) smooths and thresholds each person's own series and joins the
    results: a talking person's flicker cannot combine with another face's into an event (the max
    over faces mixes them before smoothing), and two people laughing in turn still make one moment
    (their laughs touch or fall within `merge_gap_s`). `tracks` are the persons; without them, or
    with `decode="whole_video"`, the decision is made on the whole-video series.

    `end_s` is where the video ends: the last analysed frame stands for one sampling step, which can
    reach past the video's last frame (a laugh there would end after the video, and no review box,
    clip or list could hold it)."""
    times = series.times_s
    if len(times) == 0:
        return []
    per_person = {tid: decide(s, params) for tid, s in tracks.items()} if tracks and params.decode == "per_person" else {}
    if per_person:
        mask = np.logical_or.reduce([*per_person.values(), decide(unattributed(series, tracks), params)])
    else:
        mask = decide(series, params)
    step = _step_s(times)
    ends = np.append(times[1:], times[-1] + step)  # a frame stands for the time until the next one
    if end_s is not None:
        ends = np.maximum(np.minimum(ends, end_s), times)  # ... but not past the video's end
    spans: list[list[float]] = []
    for a, b in _runs(mask):
        start, end = float(times[a]), float(ends[b - 1])
        if spans and _merges(start - spans[-1][1], spans[-1][1] - spans[-1][0], end - start, params):
            spans[-1][1] = end
        else:
            spans.append([start, end])
    segments = []
    for start, end in spans:
        if end - start < params.min_duration_s or end <= start:
            continue
        inside = (times >= start) & (times < end)
        raw = series.probs[inside]
        scored = raw[~np.isnan(raw)]
        if len(scored) == 0:  # bridged gap only; report the smoothed score
            scored = smooth(series, params)[inside]
        if per_person:
            laughing = tuple(sorted(tid for tid, m in per_person.items() if m[inside].any()))
        else:
            laughing = _laughing_tracks(tracks, inside, params)
        segments.append(Segment(start, end, float(scored.max()), float(scored.mean()), laughing))
    return segments


def _merges(gap_s: float, before_s: float, after_s: float, params: SmoothingParams) -> bool:
    """Whether two segments `gap_s` apart are one laugh: the gap is short, or short next to both of them
    (a dip of 1 s inside a 20 s laugh is a breath, not two laughs)."""
    return gap_s < params.merge_gap_s or gap_s < params.merge_ratio * min(before_s, after_s)


def _laughing_tracks(tracks: dict[int, ScoreSeries] | None, inside: np.ndarray, params: SmoothingParams) -> tuple[int, ...]:
    """Tracks whose raw score reaches the off threshold in the segment; else the single best one."""
    if not tracks:
        return ()
    peaks = {tid: np.nanmax(s.probs[inside]) for tid, s in tracks.items() if not np.all(np.isnan(s.probs[inside]))}
    if not peaks:
        return ()
    chosen = [tid for tid, p in peaks.items() if p >= params.off_threshold]
    return tuple(sorted(chosen or [max(peaks, key=peaks.get)]))
