"""Choosing smoothing settings without reporting on the clips they were chosen on.

Leave-one-source-out cross-validation: clips from one source (a repository, a recording session)
look alike, so a fold holds out every clip of a source, picks the best setting on all the others,
and scores the held-out clips with it. The pooled held-out scores are the figure to report; the
setting chosen on all clips is the one to ship.
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


def _pooled(per_clip: Sequence[tuple[Counts, Counts]], keep: Sequence[int]) -> tuple[Counts, Counts]:
    frames, events = Counts(), Counts()
    for i in keep:
        frames += per_clip[i][0]
        events += per_clip[i][1]
    return frames, events


def cross_validate(labelled: Labelled, candidates: Sequence[SmoothingParams], collar_s: float = 0.5) -> CrossValidation:
    """Leave-one-source-out choice among `candidates`; sources come from the labels' `source`."""
    per_candidate = [[(r.frames, r.events) for r in score_videos(labelled, p, collar_s)[0]] for p in candidates]
    everyone = range(len(labelled))

    def best(keep: Sequence[int]) -> SmoothingParams:
        return candidates[max(range(len(candidates)), key=lambda c: rank(*_pooled(per_candidate[c], keep)))]

    chosen: dict[str, SmoothingParams] = {}
    held_out: dict[int, VideoScore] = {}
    for group in sorted({lab.group for lab, _ in labelled}):
        inside = [i for i in everyone if labelled[i][0].group == group]
        chosen[group] = best([i for i in everyone if i not in inside])
        rows = score_videos([labelled[i] for i in inside], chosen[group], collar_s)[0]
        held_out.update(zip(inside, rows, strict=True))
    ordered = [held_out[i] for i in everyone]
    return CrossValidation(chosen, ordered, set_figures(ordered), best(list(everyone)))
