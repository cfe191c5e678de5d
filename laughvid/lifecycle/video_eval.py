"""Scoring laugh segments against labelled videos: frame-level and event-level F1.

Labels JSON (the format of `../shared/videos/dev/labels.json`):
    {"videos": {"clip.mp4": {"smile": [[start, end], ...], "ignore": [[start, end], ...]}, ...}}
`"labels": null` marks an unlabelled video (skipped). Intervals are [start, end) seconds. Optional
per video: "source" (the repository it came from: cross-validation folds), "tags" (e.g.
"talking_only") and "conditions" ({name: spans}, e.g. "head_back"), as the real video dev set has
(eval/video_devset/).

Frame level: every analysed frame outside `ignore` spans is a sample; truth = inside a smile span,
prediction = inside a predicted segment. Event level (as sed_eval's event-based metric): a
predicted segment matches a labelled one if the onsets differ by at most `collar` and the offsets
by at most max(collar, half the labelled length); matching is one-to-one. Counts are pooled over
videos, so long and short clips weigh by their content.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from laughvid.pipeline.analyze import AnalysisResult, analyze_video
from laughvid.pipeline.segments import SmoothingParams, find_segments
from laughvid.types import Segment

Span = tuple[float, float]


@dataclass(frozen=True)
class VideoLabels:
    name: str
    smile: tuple[Span, ...]
    ignore: tuple[Span, ...]
    source: str | None = None  # where the clip came from; clips of one source share a cross-validation fold
    tags: tuple[str, ...] = ()
    conditions: tuple[tuple[str, tuple[Span, ...]], ...] = ()  # (condition, spans) pairs

    @property
    def group(self) -> str:
        return self.source or self.name


def load_labels(path: str | Path) -> list[VideoLabels]:
    """Labelled videos from a labels JSON (unlabelled ones left out), with a clear error if malformed."""
    try:
        doc = json.loads(Path(path).read_text())
        videos = doc["videos"]
        out = []
        for name, entry in videos.items():
            if entry.get("labels", ...) is None:
                continue
            source = entry.get("source")
            out.append(
                VideoLabels(
                    name,
                    _spans(entry.get("smile", [])),
                    _spans(entry.get("ignore", [])),
                    source.get("repo") if isinstance(source, dict) else source,
                    tuple(entry.get("tags", ())),
                    tuple((c, _spans(spans)) for c, spans in sorted(entry.get("conditions", {}).items())),
                )
            )
    except (OSError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(
            f"{path}: not a labels file ({type(exc).__name__}: {exc}); expected {{'videos': {{name: {{'smile': [[s, e]], 'ignore': []}}}}}}"
        ) from exc
    return out


def _spans(raw) -> tuple[Span, ...]:
    return tuple((float(a), float(b)) for a, b in raw)


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __iadd__(self, other: Counts) -> Counts:
        self.tp, self.fp, self.fn = self.tp + other.tp, self.fp + other.fp, self.fn + other.fn
        return self

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def in_spans(times: np.ndarray, spans: Sequence[Span]) -> np.ndarray:
    """Per time, whether it lies in any of `spans`: [start, end), as labels and segments are read
    everywhere (frame figures, face labels, face recall), so a frame on a boundary counts once."""
    mask = np.zeros(len(times), bool)
    for a, b in spans:
        mask |= (times >= a) & (times < b)
    return mask


def frame_counts(times: np.ndarray, predicted: Sequence[Segment], labels: VideoLabels) -> Counts:
    keep = ~in_spans(times, labels.ignore)
    truth = in_spans(times, labels.smile)[keep]
    pred = in_spans(times, [(s.start_s, s.end_s) for s in predicted])[keep]
    return Counts(int(np.sum(truth & pred)), int(np.sum(~truth & pred)), int(np.sum(truth & ~pred)))


def event_counts(predicted: Sequence[Segment], labels: VideoLabels, collar_s: float = 0.5) -> Counts:
    """One-to-one onset/offset matching; predictions lying wholly in ignore spans are not counted."""
    preds = [(s.start_s, s.end_s) for s in predicted if not any(a <= s.start_s and s.end_s <= b for a, b in labels.ignore)]
    unmatched = list(range(len(preds)))
    tp = 0
    for ref_start, ref_end in labels.smile:
        offset_collar = max(collar_s, 0.5 * (ref_end - ref_start))
        candidates = [i for i in unmatched if abs(preds[i][0] - ref_start) <= collar_s and abs(preds[i][1] - ref_end) <= offset_collar]
        if candidates:
            unmatched.remove(min(candidates, key=lambda i: abs(preds[i][0] - ref_start)))
            tp += 1
    return Counts(tp, len(unmatched), len(labels.smile) - tp)


@dataclass
class VideoScore:
    name: str
    frames: Counts
    events: Counts
    segments: list[Segment]
    labels: VideoLabels | None = None
    truth: np.ndarray | None = None  # per analysed frame outside `ignore`: inside a smile span
    prob: np.ndarray | None = None  # ... the whole-video laugh probability there, before segmentation (no face = 0)
    flagged: np.ndarray | None = None  # ... inside a predicted segment


def score_videos(
    labelled: Sequence[tuple[VideoLabels, AnalysisResult]], smoothing: SmoothingParams, collar_s: float = 0.5
) -> tuple[list[VideoScore], Counts, Counts]:
    """Re-smooth each cached analysis with `smoothing` and score it; returns per-video and pooled counts."""
    rows, frames, events = [], Counts(), Counts()
    for labels, result in labelled:
        series, tracks = result.laugh(smoothing.score_window_s)
        segments = find_segments(series, smoothing, tracks, result.end_s)
        times = series.times_s
        keep = ~in_spans(times, labels.ignore)
        row = VideoScore(
            labels.name,
            frame_counts(times, segments, labels),
            event_counts(segments, labels, collar_s),
            segments,
            labels,
            in_spans(times, labels.smile)[keep],
            np.nan_to_num(series.probs[keep], nan=0.0),
            in_spans(times, [(s.start_s, s.end_s) for s in segments])[keep],
        )
        frames += row.frames
        events += row.events
        rows.append(row)
    return rows, frames, events


def analyse_labelled(
    video_dir: str | Path, labels: Sequence[VideoLabels], conn, classifier, params, progress=None
) -> list[tuple[VideoLabels, AnalysisResult]]:
    """Analyse (or fetch from the store) every labelled video found in `video_dir`; missing files are an error."""
    missing = [lab.name for lab in labels if not (Path(video_dir) / lab.name).is_file()]
    if missing:
        raise FileNotFoundError(f"labelled videos not found in {video_dir}: {', '.join(missing)}")
    out = []
    for lab in labels:
        if progress:
            progress(lab.name)
        out.append((lab, analyze_video(Path(video_dir) / lab.name, conn, classifier, params)))
    return out


def analyse_labelled_with(
    video_dir: str | Path, labels: Sequence[VideoLabels], model: str | Path | None, store_path: str | Path | None, params
) -> list[tuple[VideoLabels, AnalysisResult]]:
    """`analyse_labelled` for the evaluation scripts: loads the model (None = the active one), opens the
    store and names each video on stderr as it goes.

    Raises:
        FileNotFoundError: a labelled video or the model is missing.
    """
    from laughvid.lifecycle.registry import load_classifier
    from laughvid.store import open_store

    return analyse_labelled(
        video_dir,
        labels,
        open_store(store_path),
        load_classifier(model),
        params,
        progress=lambda name: print(f"analysing {name}", file=sys.stderr),
    )


@dataclass(frozen=True)
class Estimate:
    """A figure with its 95 % bootstrap interval (clips resampled with replacement)."""

    value: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"


@dataclass(frozen=True)
class SetFigures:
    """What docs/model.md reports for a labelled video set."""

    clips: int
    events: int
    event_f1: Estimate
    frame_f1: Estimate
    frame_roc_auc: Estimate
    talking_flagged: Estimate | None  # fraction of frames flagged as laughing on clips tagged talking_only

    def lines(self) -> list[str]:
        out = [
            f"clips {self.clips}, labelled events {self.events} (95 % intervals: clips resampled)",
            f"event F1       {self.event_f1}",
            f"frame F1       {self.frame_f1}",
            f"frame ROC-AUC  {self.frame_roc_auc}",
        ]
        if self.talking_flagged is not None:
            out.append(f"talking-only frames flagged as laughing  {self.talking_flagged}")
        return out


def _pooled(sample: Sequence[VideoScore]) -> tuple[float, float, float, float]:
    """Event F1, frame F1, frame ROC-AUC and talking-only flagged fraction of clips pooled together."""
    from laughvid.training.metrics import roc_auc  # plain numpy; lazy so that evaluation does not load training code

    frames, events = Counts(), Counts()
    for r in sample:
        frames += r.frames
        events += r.events
    truth = np.concatenate([r.truth for r in sample])
    auc = roc_auc(truth, np.concatenate([r.prob for r in sample]))
    talking = [r.flagged for r in sample if "talking_only" in r.labels.tags]
    flagged = float(np.concatenate(talking).mean()) if talking and sum(map(len, talking)) else float("nan")
    return events.f1, frames.f1, auc, flagged


def _resamples(n: int, n_boot: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, n, n) for _ in range(n_boot)]


def _figures(rows: Sequence[VideoScore], point: Sequence[float], draws: np.ndarray) -> SetFigures:
    est = [_interval(float(v), draws[:, k]) for k, v in enumerate(point)]
    n_events = sum(len(r.labels.smile) for r in rows)
    return SetFigures(len(rows), n_events, est[0], est[1], est[2], None if np.isnan(point[3]) else est[3])


def set_figures(rows: Sequence[VideoScore], n_boot: int = 1000, seed: int = 0) -> SetFigures:
    """Pooled figures of scored clips, each with a bootstrap interval over clips (few clips: wide)."""
    draws = np.array([_pooled([rows[i] for i in idx]) for idx in _resamples(len(rows), n_boot, seed)])
    return _figures(rows, _pooled(rows), draws)


def paired_figures(rows: Sequence[VideoScore], baseline: Sequence[VideoScore], n_boot: int = 1000, seed: int = 0) -> SetFigures:
    """`rows` minus `baseline` (the same clips scored two ways), every resample drawing the same clips for
    both: an interval of the difference that excludes 0 is a change beyond the clips' noise."""
    if [r.name for r in rows] != [r.name for r in baseline]:
        raise ValueError("paired figures need the same clips in the same order")

    def diff(idx) -> np.ndarray:
        return np.subtract(_pooled([rows[i] for i in idx]), _pooled([baseline[i] for i in idx]))

    draws = np.array([diff(idx) for idx in _resamples(len(rows), n_boot, seed)])
    return _figures(rows, diff(range(len(rows))), draws)


def _interval(value: float, draws: np.ndarray) -> Estimate:
    finite = draws[~np.isnan(draws)]  # a resample without positives (or talking clips) has no figure
    if len(finite) == 0:
        return Estimate(value, float("nan"), float("nan"))
    return Estimate(value, float(np.percentile(finite, 2.5)), float(np.percentile(finite, 97.5)))
