"""Fitting the fusion of CNN and face geometry on labelled video faces, and measuring it as the product runs.

Fitted on the expression data sets' small crops (48-64 px), fusion-v1 leans on the CNN: landmarks on
such crops are poor. Video faces are big, so their geometry may deserve more weight; this module
gets per-face features as analysis computes them and fits on them by leave-one-source-out CV.

Features come from the product itself: each clip is analysed with the shipped detector, tracker,
landmark schedule (`landmark_every`, interpolation) and `landmark_gate=0`, through a fusion that
records what it is asked to fuse. So each face row gets exactly the CNN probability, the crop the CNN
scored (to rescore with another CNN) and the features the product fuses there with `landmark_gate=0`.
A gate above 0 is not simulated: which faces it leaves without geometry depends on the landmark
schedule (a face under it still gets features when a neighbour's keyframes ran), so its effect is
measured by analysing with it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from laughvid.lifecycle.video_eval import VideoLabels
from laughvid.lifecycle.video_faces import IGNORED, FaceArrays, face_labels
from laughvid.pipeline.analyze import AnalysisParams, AnalysisResult, analyze_video
from laughvid.pipeline.faces.landmarks import FEATURES
from laughvid.pipeline.fusion import FusionModel, GeometryScorer, Logistic, logit
from laughvid.training.fit_fusion import fit_logistic


@dataclass
class FaceFeatures(FaceArrays):
    """One entry per face row of the analyses (N), in each analysis' score-cache order."""

    clip: np.ndarray  # str
    source: np.ndarray  # str: cross-validation folds
    time_s: np.ndarray  # float64
    track_id: np.ndarray  # int64 (stitched person)
    label: np.ndarray  # int8: 1 smiling, 0 not, IGNORED
    n_faces: np.ndarray  # int64: faces in this frame (a label says whether *any* face smiles)
    cnn_prob: np.ndarray  # float64: the CNN's calibrated probability as analysis computed it
    crops: np.ndarray  # uint8 N x S x S: what the CNN scored (rescore with another CNN)
    feats: np.ndarray  # float64 N x F: landmarks.FEATURES as the product fuses them (NaN: none)


class _Recorder:
    """Stands in for a FusionModel (and, wrapped around it, a classifier) and keeps what analysis passes it."""

    def __init__(self, inner) -> None:
        self._inner = inner
        self.calls: list[tuple[np.ndarray, ...]] = []

    def __getattr__(self, name: str):
        return getattr(self._inner, name)

    def fuse(self, cnn_prob: np.ndarray, feats: np.ndarray) -> np.ndarray:
        self.calls.append((np.asarray(cnn_prob, np.float64).copy(), np.asarray(feats, np.float64).copy()))
        return self._inner.fuse(cnn_prob, feats)

    def score(self, crops: np.ndarray) -> np.ndarray:
        self.calls.append((np.asarray(crops).copy(),))
        return self._inner.score(crops)


def record_features(
    video_dir: str | Path,
    labelled: Sequence[VideoLabels],
    conn,
    classifier,
    geometry: GeometryScorer,
    params: AnalysisParams,
    progress: Callable[[str], None] | None = None,
) -> tuple[FaceFeatures, list[AnalysisResult]]:
    """Analyse each labelled clip (into `conn`, which must not already hold these analyses: a cached
    analysis records nothing) and return every face row's CNN probability, crop and fusion features."""
    parts, results = [], []
    for labels in labelled:
        if progress:
            progress(labels.name)
        model, scorer = _Recorder(geometry.model), _Recorder(classifier)
        result = analyze_video(Path(video_dir) / labels.name, conn, scorer, params, geometry=GeometryScorer(geometry.landmarker, model))
        cache = result.cache
        n = len(cache.times_s)
        cnn = np.concatenate([c for c, _ in model.calls]) if model.calls else np.zeros(0)
        feats = np.concatenate([f for _, f in model.calls]) if model.calls else np.zeros((0, len(FEATURES)))
        crops = (
            np.concatenate([c for (c,) in scorer.calls]) if scorer.calls else np.zeros((0, classifier.input_size, classifier.input_size))
        )
        if len(cnn) != n or not np.allclose(cnn, cache.cnn_probs, atol=1e-6):
            raise RuntimeError(f"{labels.name}: analysis was served from the store or rows came back out of order; use a fresh store")
        parts.append(
            dict(
                clip=np.full(n, labels.name),
                source=np.full(n, labels.group),
                time_s=cache.times_s.astype(np.float64),
                track_id=cache.track_ids.astype(np.int64),
                label=face_labels(cache.times_s, labels),
                n_faces=_faces_in_frame(cache.times_s),
                cnn_prob=cnn,
                crops=crops.astype(np.uint8),
                feats=feats,
            )
        )
        results.append(result)
    return FaceFeatures.joined(parts), results


def _faces_in_frame(times_s: np.ndarray) -> np.ndarray:
    _, inverse, counts = np.unique(times_s, return_inverse=True, return_counts=True)
    return counts[inverse].astype(np.int64)


def design(cnn_prob: np.ndarray, feats: np.ndarray) -> np.ndarray:
    """The fused regression's inputs, as FusionModel.fuse builds them: [CNN logit, *features]."""
    return np.column_stack([logit(cnn_prob), feats])


def fused_probs(model: Logistic, cnn_prob: np.ndarray, feats: np.ndarray) -> np.ndarray:
    """Per face: the fused probability, or the CNN's where there are no features (as FusionModel.fuse)."""
    ok = ~np.isnan(feats).any(axis=1)
    out = np.asarray(cnn_prob, np.float64).copy()
    if ok.any():
        out[ok] = model(design(cnn_prob[ok], feats[ok]))
    return out


def _log_loss(model: Logistic, x: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(model(x), 1e-6, 1 - 1e-6)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def choose_l2(x: np.ndarray, y: np.ndarray, groups: np.ndarray, grid: Sequence[float], folds: int = 5) -> float:
    """The L2 of `grid` with the lowest held-out log-loss over `folds` folds of whole groups (sources):
    chosen on training faces only, so the outer held-out figure never saw it."""
    keys = np.unique(groups)
    assign = {k: i % folds for i, k in enumerate(np.random.default_rng(0).permutation(keys))}
    fold = np.array([assign[g] for g in groups])
    losses = []
    for l2 in grid:
        total = 0.0
        for f in range(min(folds, len(keys))):
            train, test = fold != f, fold == f
            if len(np.unique(y[train])) < 2 or not test.any():
                continue
            total += _log_loss(fit_logistic(x[train], y[train], l2), x[test], y[test]) * test.sum()
        losses.append(total)
    return float(grid[int(np.argmin(losses))])


def training_rows(faces: FaceFeatures, single_face_only: bool = False) -> np.ndarray:
    """Faces a fusion may learn from: labelled, with features, and (optionally) alone in their frame
    (in a frame of two faces a smile label may be the other face's)."""
    keep = (faces.label != IGNORED) & ~np.isnan(faces.feats).any(axis=1)
    return keep & (faces.n_faces == 1) if single_face_only else keep


@dataclass
class HeldOut:
    probs: np.ndarray  # per face row: the fused probability from a fusion fitted without its source
    l2: dict[str, float]  # source -> the L2 chosen without it
    cnn_coef: dict[str, float]  # source -> the fitted CNN coefficient (standardised)


def cross_validated_probs(
    faces: FaceFeatures,
    columns: Sequence[int] | None = None,
    grid: Sequence[float] = (0.1, 1.0, 10.0, 100.0, 1000.0),
    single_face_only: bool = False,
) -> HeldOut:
    """Leave-one-source-out: each source's faces get the probability of a fusion fitted on the other
    sources (L2 chosen among `grid` inside those). `columns` picks feature columns (default all)."""
    feats = faces.feats if columns is None else faces.feats[:, list(columns)]
    usable = training_rows(dataclasses.replace(faces, feats=feats), single_face_only)
    x, y = design(faces.cnn_prob, feats), (faces.label == 1).astype(np.float64)
    probs = faces.cnn_prob.astype(np.float64).copy()
    l2s, coefs = {}, {}
    for source in np.unique(faces.source):
        train = usable & (faces.source != source)
        l2 = choose_l2(x[train], y[train], faces.source[train], grid)
        model = fit_logistic(x[train], y[train], l2)
        mine = faces.source == source
        probs[mine] = fused_probs(model, faces.cnn_prob[mine], feats[mine])
        l2s[str(source)], coefs[str(source)] = l2, model.coef[0]
    return HeldOut(probs, l2s, coefs)


def fit_on_all(
    faces: FaceFeatures, version: str, base: FusionModel, grid: Sequence[float] = (0.1, 1.0, 10.0, 100.0, 1000.0), **extra
) -> FusionModel:
    """The fusion to ship: both regressions fitted on every usable face, L2 chosen by CV across sources;
    intensity bounds kept from `base` (they scale jawOpen, not a fitted quantity)."""
    from laughvid.training.fit_fusion import fit_fusion

    rows = training_rows(faces)
    x, y = design(faces.cnn_prob[rows], faces.feats[rows]), (faces.label[rows] == 1).astype(np.float64)
    l2 = choose_l2(x, y, faces.source[rows], grid)
    bounds = {k: getattr(base, k) for k in ("open_low", "open_high", "closed_intensity")}
    return fit_fusion(version, faces.cnn_prob[rows], faces.feats[rows], y, l2, **bounds, **extra)
