"""Choosing smoothing settings without reporting on the clips they were chosen on.

Leave-one-source-out cross-validation: clips from one source (a repository, a recording session)
look alike, so a fold holds out every clip of a source, picks the best setting on all the others,
and scores the held-out clips with it. The pooled held-out scores are the figure to report; the
setting chosen on all clips is the one to ship. A setting may be required to keep the talking-only
clips' flagged frames under a bound on the clips it is chosen on (`max_talking`: a reviewer's
trust in the tool goes with its false alarms on plain talking, issue 14's target is 2 %).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from laughvid.lifecycle.video_eval import Counts, SetFigures, VideoLabels, VideoScore, score_videos, set_figures
from laughvid.pipeline.analyze import AnalysisResult
from laughvid.pipeline.segments import SmoothingParams

Labelled = Sequence[tuple[VideoLabels, AnalysisResult]]


def rank(frames: Counts, events: Counts) -> tuple[float, float]:
    """Mean of event and frame F1 (event F1 alone moves in big steps on few events), ties by event F1."""
    return ((events.f1 + frames.f1) / 2, events.f1)


@dataclass
class CrossValidation:
    chosen: dict[str, SmoothingParams]  # source -> the setting chosen without it
    held_out: list[VideoScore]  # every clip, scored with the setting chosen without its source
    figures: SetFigures
    best_overall: SmoothingParams  # chosen on all clips: what to ship


@dataclass(frozen=True)
class _ClipCounts:
    frames: Counts
    events: Counts
    talking_flagged: int  # frames flagged as laughing, on a clip tagged talking_only (else 0)
    talking_frames: int  # frames scored, on such a clip (else 0)

    @classmethod
    def of(cls, row: VideoScore) -> _ClipCounts:
        talking = "talking_only" in row.labels.tags
        return cls(row.frames, row.events, int(row.flagged.sum()) if talking else 0, len(row.flagged) if talking else 0)


def _pooled(per_clip: Sequence[_ClipCounts], keep: Sequence[int]) -> tuple[Counts, Counts]:
    frames, events = Counts(), Counts()
    for i in keep:
        frames += per_clip[i].frames
        events += per_clip[i].events
    return frames, events


def _talking(per_clip: Sequence[_ClipCounts], keep: Sequence[int]) -> float:
    """Fraction of talking-only frames flagged over the clips `keep` (0 when they have none)."""
    total = sum(per_clip[i].talking_frames for i in keep)
    return sum(per_clip[i].talking_flagged for i in keep) / total if total else 0.0


def cross_validate(
    labelled: Labelled, candidates: Sequence[SmoothingParams], collar_s: float = 0.5, max_talking: float | None = None
) -> CrossValidation:
    """Leave-one-source-out choice among `candidates`; sources come from the labels' `source`. With
    `max_talking`, only settings flagging at most that fraction of the talking-only frames of the clips
    they are chosen on compete (the least-flagging one when none does)."""
    per_candidate = [[_ClipCounts.of(r) for r in score_videos(labelled, p, collar_s)[0]] for p in candidates]
    everyone = range(len(labelled))

    def best(keep: Sequence[int]) -> SmoothingParams:
        talking = [_talking(per_candidate[c], keep) for c in range(len(candidates))]
        allowed = [c for c in range(len(candidates)) if max_talking is None or talking[c] <= max_talking]
        allowed = allowed or [min(range(len(candidates)), key=talking.__getitem__)]
        return candidates[max(allowed, key=lambda c: rank(*_pooled(per_candidate[c], keep)))]

    chosen: dict[str, SmoothingParams] = {}
    held_out: dict[int, VideoScore] = {}
    for group in sorted({lab.group for lab, _ in labelled}):
        inside = [i for i in everyone if labelled[i][0].group == group]
        chosen[group] = best([i for i in everyone if i not in inside])
        rows = score_videos([labelled[i] for i in inside], chosen[group], collar_s)[0]
        held_out.update(zip(inside, rows, strict=True))
    ordered = [held_out[i] for i in everyone]
    return CrossValidation(chosen, ordered, set_figures(ordered), best(list(everyone)))
