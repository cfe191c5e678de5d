"""Big laughs first: ranking laugh segments and review moments by laugh intensity.

Intensity (0..1, from face geometry: ~0.3 a closed smile, ~1 a wide-open laugh; docs/model.md) is
what highlight export and the review queue rank by when asked for the biggest laughs. Analyses made
before face geometry existed (or with it off) have none: whatever has no intensity ranks after
everything that has, in time order, so nothing is dropped for lacking it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from laughvid.pipeline.timeline import peak_between
from laughvid.types import ReviewedSegment, ScoreSeries, Segment


def biggest_first_key(intensity: float | None, start_s: float = 0.0) -> tuple[bool, float, float]:
    """Sort key: highest intensity first, None after every value, then earlier first."""
    return (intensity is None, -(intensity or 0.0), start_s)


def biggest_first(segments: Sequence[Segment], top: int | None = None) -> list[Segment]:
    """The segments by peak intensity, biggest laugh first (the first `top` only, if given)."""
    ranked = sorted(segments, key=lambda s: biggest_first_key(s.peak_intensity, s.start_s))
    return ranked if top is None else ranked[:top]


def with_peak_intensity(items: Sequence[ReviewedSegment], intensity: ScoreSeries | None) -> list[ReviewedSegment]:
    """The items with each segment's peak intensity read from the analysis' series for its current
    bounds: reviewed rows do not store it (a trimmed or added segment has its own peak)."""
    if intensity is None:
        return list(items)
    return [replace(i, segment=replace(i.segment, peak_intensity=peak_between(intensity, i.start_s, i.end_s))) for i in items]
