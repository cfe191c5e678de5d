"""What the player-timeline component is given on each rerun, as plain JSON (no Streamlit here).

Two parts: what changes on a rerun (segments, the reply, a command: `timeline_payload`, a few kB)
and the curves (`series_payload`), which change only with the analysis and the tuning and are
served from their own cached URL (`series_route`). In the curves, times travel as integer
milliseconds and probabilities as integer percent (NaN, no face, as null): a 30-minute analysis at
10 fps with two people is ~18,000 frames per line, kept short without dropping a single analysed
frame (the component snaps seeks and edges to these exact frame times). Lanes: the laugh probability, then the laugh
intensity (how big the laugh is, 0..1, from face geometry) where the analysis has it; the component
draws one lane per entry, stacked, on one clock. An analysis without intensity (made before face
geometry existed, or with it off) gets a one-line note instead of an empty lane.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from laughvid.types import PersonNames, ReviewedSegment, ScoreSeries


@dataclass(frozen=True)
class Reply:
    """What Python did with the component's last edit: shown in the component's status line."""

    nonce: str
    ok: bool
    message: str
    focus: tuple[float, float] | None = None  # the segment to select afterwards (an added or edited one)

    def to_json(self) -> dict[str, Any]:
        return {"nonce": self.nonce, "ok": self.ok, "message": self.message, "focus": list(self.focus) if self.focus else None}


def _ms(times: np.ndarray) -> list[int]:
    return np.rint(np.asarray(times, dtype=float) * 1000).astype(np.int64).tolist()


def _percent(probs: np.ndarray) -> list[int | None]:
    p = np.asarray(probs, dtype=float)
    out: list[int | None] = np.rint(np.nan_to_num(p, nan=0.0) * 100).astype(np.int64).tolist()
    for i in np.flatnonzero(np.isnan(p)).tolist():
        out[i] = None
    return out


def _line(label: str, series: ScoreSeries, frames: np.ndarray, person: int | None = None) -> dict[str, Any]:
    line: dict[str, Any] = {"label": label, "person": person, "p": _percent(series.probs)}
    if len(series.times_s) != len(frames) or not np.array_equal(series.times_s, frames):
        line["t"] = _ms(series.times_s)  # its own clock (never the case for the laugh lines today)
    return line


def _lines(series: ScoreSeries, tracks: dict[int, ScoreSeries], frames: np.ndarray, names: PersonNames) -> list[dict[str, Any]]:
    """The whole video's line, then one per person when there are several (named as `names` says)."""
    lines = [_line("any face", series, frames)]
    if len(tracks) > 1:
        lines += [_line(names(tid), track, frames, tid) for tid, track in sorted(tracks.items())]
    return lines


NO_INTENSITY = "No laugh intensity lane: this analysis has no face geometry (made before it existed, or with it off); analyse the video again to get it."


def _intensity_lane(
    series: ScoreSeries, intensity: ScoreSeries | None, tracks: dict[int, ScoreSeries], frames: np.ndarray, names: PersonNames
) -> tuple[list[dict[str, Any]], list[str]]:
    """The intensity lane (as a list of 0 or 1) and the notes that replace it when it is absent: none
    where the video shows no face at all (there is nothing to measure, the laugh lane is empty too)."""
    if intensity is not None and np.any(~np.isnan(intensity.probs)):
        return [
            {"title": "laugh intensity (1 = wide-open laugh)", "threshold": None, "lines": _lines(intensity, tracks, frames, names)}
        ], []
    return [], [NO_INTENSITY] if np.any(~np.isnan(series.probs)) else []


def segment_json(n: int, item: ReviewedSegment) -> dict[str, Any]:
    return {
        "n": n,
        "id": item.id,
        "start": float(item.start_s),  # exact: an edge sent back unchanged must match the store (and the video's end)
        "end": float(item.end_s),
        "state": item.state,
        "peak": round(float(item.segment.peak_prob), 2),
        "intensity": None if item.segment.peak_intensity is None else round(float(item.segment.peak_intensity), 2),
        "people": list(item.segment.track_ids),
    }


def series_payload(
    *,
    series: ScoreSeries,
    tracks: dict[int, ScoreSeries],
    threshold: float,
    intensity: ScoreSeries | None = None,
    track_intensity: dict[int, ScoreSeries] | None = None,
    names: PersonNames = PersonNames(),
) -> dict[str, Any]:
    """The curves: the analysed frames, the lanes of lines (laugh probability; laugh intensity where the
    analysis has it, else a note), each person's named by `names`. Served once per analysis, tuning and
    names by `series_route`, not per rerun."""
    frames = series.times_s
    extra, notes = _intensity_lane(series, intensity, track_intensity or {}, frames, names)
    return {
        "frames": _ms(frames),
        "lanes": [{"title": "laugh probability", "threshold": float(threshold), "lines": _lines(series, tracks, frames, names)}, *extra],
        "notes": notes,
    }


def timeline_payload(
    *,
    sha256: str,
    url: str,
    fps: float,
    duration_s: float,
    problem: str | None,
    series_url: str,
    items: Sequence[ReviewedSegment],
    threshold: float,
    reply: Reply | None = None,
    command: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The component's `data` on each rerun: the video, where its curves are (`series_payload`, fetched
    once per URL), the segments as reviewed, the threshold, the answer to the last edit and a one-off
    command (select or seek). Only this travels per rerun: a few kB, whatever the video's length."""
    return {
        "video": {"sha": sha256, "url": url, "fps": float(fps), "duration": float(duration_s), "problem": problem},
        "series": series_url,
        "threshold": float(threshold),
        "segments": [segment_json(n, i) for n, i in enumerate(items)],
        "reply": reply.to_json() if reply else None,
        "command": command,
    }
