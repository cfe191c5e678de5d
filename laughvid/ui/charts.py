"""The laugh timeline as a plotly figure, and what a click on it means.

Why markers for segments: plotly shapes (the coloured bands) cannot be clicked, so each segment
also gets a clickable marker above the curve. A click on the curve seeks the player to that time;
a click on a marker, or on the curve inside a band, also selects that segment for review.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from laughvid.types import ReviewedSegment, ScoreSeries

STATE_COLOURS = {"pending": (255, 170, 0), "accepted": (40, 167, 69), "added": (23, 130, 200), "rejected": (220, 53, 69)}
BAND_ALPHA = {"rejected": 0.15}  # rejected bands fade: they are not laughs
MARKER_Y = 1.06
MAX_POINTS = 4000  # per trace; an hour at 10 analysed fps is 36,000 frames
SEGMENT_TRACE = "segments"
# Plotly only reports a click (as a selection) on traces with markers, so lines get invisible ones.
_HIDDEN = dict(marker=dict(opacity=0))
CLICKABLE_LINE = dict(mode="lines+markers", marker=dict(size=6, opacity=0), selected=_HIDDEN, unselected=_HIDDEN)


def state_colour(state: str, alpha: float = 1.0) -> str:
    r, g, b = STATE_COLOURS.get(state, STATE_COLOURS["pending"])
    return f"rgba({r}, {g}, {b}, {alpha})"


def downsample(times: np.ndarray, probs: np.ndarray, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most `max_points` points, keeping each bin's maximum (laughs are peaks) and its gaps (NaN)."""
    if len(times) <= max_points:
        return times, probs
    step = -(-len(times) // max_points)
    padded = np.concatenate([probs, np.full(-len(probs) % step, np.nan)]).reshape(-1, step)
    return times[::step], np.fmax.reduce(padded, axis=1)  # fmax skips NaN; an all-NaN bin stays NaN


def timeline_figure(
    series: ScoreSeries,
    tracks: dict[int, ScoreSeries],
    items: Sequence[ReviewedSegment],
    threshold: float,
    selected: int | None = None,
    cursor_s: float | None = None,
) -> go.Figure:
    fig = go.Figure()
    t, p = downsample(series.times_s, series.probs)
    fig.add_trace(
        go.Scatter(
            x=t,
            y=p,
            name="laugh probability (any face)",
            line=dict(color="#333", width=2),
            hovertemplate="%{x:.2f} s: %{y:.2f}<extra></extra>",
            **CLICKABLE_LINE,
        )
    )
    if len(tracks) > 1:
        for tid, track in sorted(tracks.items()):
            t, p = downsample(track.times_s, track.probs)
            fig.add_trace(
                go.Scatter(
                    x=t,
                    y=p,
                    name=f"person {tid}",
                    line=dict(width=1, dash="dot"),
                    hovertemplate=f"person {tid}: " + "%{y:.2f} at %{x:.2f} s<extra></extra>",
                    **CLICKABLE_LINE,
                )
            )
    bands = [
        dict(
            type="rect",
            xref="x",
            yref="paper",
            x0=item.start_s,
            x1=item.end_s,
            y0=0,
            y1=1,
            layer="below",
            fillcolor=state_colour(item.state, BAND_ALPHA.get(item.state, 0.3)),
            line=dict(width=2 if i == selected else 0, color="#000"),
        )
        for i, item in enumerate(items)
    ]
    fig.update_layout(shapes=bands)  # one call: add_vrect per segment costs ~10 ms each
    if items:
        fig.add_trace(
            go.Scatter(
                x=[(i.start_s + i.end_s) / 2 for i in items],
                y=[MARKER_Y] * len(items),
                mode="markers",
                name=SEGMENT_TRACE,
                customdata=list(range(len(items))),
                marker=dict(
                    symbol="triangle-down",
                    size=[16 if i == selected else 11 for i in range(len(items))],
                    color=[state_colour(i.state) for i in items],
                    line=dict(width=1, color="#000"),
                ),
                hovertemplate=[f"segment {n + 1}: {i.start_s:.2f}-{i.end_s:.2f} s, {i.state}<extra></extra>" for n, i in enumerate(items)],
            )
        )
    fig.add_hline(
        y=threshold,
        line=dict(color="#c00", dash="dash", width=1),
        annotation_text=f"threshold {threshold:.2f}",
        annotation_position="bottom right",
    )
    if cursor_s is not None:
        fig.add_vline(x=cursor_s, line=dict(color="#06c", width=1))
    fig.update_layout(
        # Drag zooms the time axis (an hour of footage needs it); a click selects. The top margin keeps
        # plotly's toolbar off the segment markers.
        height=340,
        margin=dict(l=40, r=10, t=36, b=30),
        clickmode="event+select",
        dragmode="zoom",
        yaxis=dict(range=[0, 1.12], title="laugh probability", fixedrange=True),
        xaxis=dict(title="time (s)"),
        legend=dict(orientation="h", y=-0.25),
        hovermode="x",  # a click anywhere above a time picks that time
    )
    return fig


@dataclass(frozen=True)
class Click:
    """What the reviewer pointed at: a time to seek to, maybe a segment."""

    time_s: float
    segment: int | None


def interpret_click(points: Sequence[dict], items: Sequence[ReviewedSegment]) -> Click | None:
    """Turn a plotly selection (list of point dicts) into a seek time and a segment index."""
    if not points:
        return None
    for point in points:  # a segment marker among the clicked points wins
        custom = point.get("customdata")
        if isinstance(custom, list):
            custom = custom[0] if custom else None
        if custom is not None and point.get("y") == MARKER_Y and 0 <= int(custom) < len(items):
            return Click(items[int(custom)].start_s, int(custom))
    x = float(points[0].get("x", 0.0))
    inside = [n for n, i in enumerate(items) if i.start_s <= x < i.end_s]
    return Click(x, inside[0] if inside else None)
