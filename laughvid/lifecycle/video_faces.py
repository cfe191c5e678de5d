"""Labelled faces of a labelled video set: Phase 2 measured on the footage the product is for.

A team fine-tunes on its own reviewed recordings, so the honest simulation of Phase 2 uses video
faces, not photos: every face row of a stored analysis (its time, box and person from the score
cache) is cut from the video the way the product cuts it, twice from the same decoded frame: in the
model's framing (what analysis scores) and, where the detector really ran, in the fine-tune set's
framing (what `laughvid export --finetune` writes). Each face is labelled from its clip's labels:
inside a smile span 1, inside an `ignore` span left out, else 0. Group = clip, so one clip's
neighbouring frames never sit on both sides of a split; the clip's source is kept for folds.

`with_probs` rebuilds an analysis' timeline from other per-face probabilities (a fine-tuned model's),
so segments and frame figures of a candidate come from the product's own smoothing and evaluation.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import cv2
import numpy as np

from laughvid.atomic import write_image_atomic
from laughvid.export.crops import crop_framing
from laughvid.lifecycle.manifest import write_manifest
from laughvid.lifecycle.video_eval import VideoLabels, in_spans
from laughvid.pipeline.analyze import AnalysisResult, load_result, result_from_cache
from laughvid.pipeline.decode import frames_at
from laughvid.pipeline.faces.crop import crop_faces
from laughvid.pipeline.fusion import Logistic, logit
from laughvid.pipeline.scoring import SmileClassifier
from laughvid.store import list_analyses
from laughvid.training.data import ImageItem
from laughvid.training.fit_fusion import fit_logistic

IGNORED = -1  # label of a face inside an `ignore` span: in no figure and no training set


class FaceArrays:
    """Parallel arrays with one entry per face row (the dataclass fields), kept in one .npz file: the
    video studies' caches (made from dev-set clips, never committed), so a study reruns without decoding."""

    time_s: np.ndarray

    def __len__(self) -> int:
        return len(self.time_s)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(field.name for field in dataclasses.fields(cls))

    @classmethod
    def joined(cls, parts: Sequence[dict[str, np.ndarray]]) -> Self:
        """One table from per-clip parts (dicts of the same fields)."""
        return cls(**{name: np.concatenate([part[name] for part in parts]) for name in cls.names()})

    def take(self, mask: np.ndarray) -> Self:
        return type(self)(**{name: getattr(self, name)[mask] for name in self.names()})

    def save(self, path: str | Path) -> None:
        np.savez_compressed(path, **{name: getattr(self, name) for name in self.names()})

    @classmethod
    def load(cls, path: str | Path) -> Self:
        with np.load(path, allow_pickle=False) as z:
            return cls(**{name: z[name] for name in cls.names()})


@dataclass
class VideoFaces(FaceArrays):
    """One entry per face row of the analyses (N), in each analysis' score-cache order."""

    clip: np.ndarray  # str: the labels' clip name (the group)
    source: np.ndarray  # str: where the clip came from (cross-validation folds)
    analysis_id: np.ndarray  # int64
    row: np.ndarray  # int64: index in that analysis' score cache
    time_s: np.ndarray  # float64
    track_id: np.ndarray  # int64: the person (stitched), as the timeline shows it
    detected: np.ndarray  # bool: the detector ran here (only these are exported for fine-tuning)
    label: np.ndarray  # int8: 1 smiling, 0 not, IGNORED
    crops: np.ndarray  # uint8 N x S x S: the model's input, cut as analysis cuts it
    cnn_prob: np.ndarray  # float64: as stored by the analysis (the analysed model)
    geometry: np.ndarray  # float64: face-geometry probability as stored (NaN: none)
    prob: np.ndarray  # float64: the fused laugh probability as stored (the timeline's)
    png: np.ndarray  # str: the exported crop, relative to the set root ('' when not exported)

    def faces_in_frame(self) -> np.ndarray:
        """Per row, how many faces its frame shows. A clip's labels say whether *any* face smiles, so
        in a frame of several faces a smile label may belong to another face: alone, it is the face's own."""
        _, inverse, counts = np.unique(
            np.char.add(self.clip, np.round(self.time_s, 3).astype(str)), return_inverse=True, return_counts=True
        )
        return counts[inverse]

    def items(self, root: str | Path) -> list[ImageItem]:
        """The exported, labelled crops as training items (group = clip)."""
        keep = np.flatnonzero((self.png != "") & (self.label != IGNORED))
        return [ImageItem(str(Path(root) / self.png[i]), int(self.label[i]), "custom", "train", str(self.clip[i])) for i in keep]


def face_labels(times_s: np.ndarray, labels: VideoLabels) -> np.ndarray:
    """Per face row: 1 inside a smile span, IGNORED inside an ignore span (ignore wins), else 0."""
    out = in_spans(times_s, labels.smile).astype(np.int8)
    out[in_spans(times_s, labels.ignore)] = IGNORED
    return out


def stored_analyses(conn: sqlite3.Connection, labelled: Sequence[VideoLabels]) -> dict[str, int]:
    """Clip name -> its newest finished analysis in the store; raises naming the clips without one."""
    newest: dict[str, int] = {}
    for record in sorted(list_analyses(conn, "done"), key=lambda r: r.id):
        newest[record.name] = record.id
    missing = [lab.name for lab in labelled if lab.name not in newest]
    if missing:
        raise KeyError(f"no finished analysis in the store for: {', '.join(missing)} (run laughvid analyze on them first)")
    return {lab.name: newest[lab.name] for lab in labelled}


def collect_faces(
    conn: sqlite3.Connection,
    labelled: Sequence[VideoLabels],
    classifier: SmileClassifier,
    export_root: str | Path,
    progress: Callable[[str], None] | None = None,
) -> VideoFaces:
    """Cut and label every face row of the labelled clips' stored analyses (decoding each analysed frame
    once). Detected, labelled faces are also written as PNG under `export_root` in the fine-tune set's
    layout (`smile/`, `non_smile/`, manifest with group = clip)."""
    export_root = Path(export_root)
    set_framing = crop_framing(classifier.card.framing)
    parts: list[dict[str, np.ndarray]] = []
    manifest: list[dict] = []
    for labels, analysis_id in zip(labelled, stored_analyses(conn, labelled).values(), strict=True):
        if progress:
            progress(labels.name)
        result = load_result(conn, analysis_id)
        cache = result.cache
        label = face_labels(cache.times_s, labels)
        crops = np.zeros((len(cache.times_s), classifier.input_size, classifier.input_size), np.uint8)
        png = np.full(len(cache.times_s), "", dtype=object)
        for t, frame in frames_at(result.record.path, result.record.info.rotation, np.unique(cache.times_s).tolist()):
            rows = np.flatnonzero(cache.times_s == t)
            boxes = [tuple(map(float, cache.boxes[i])) for i in rows]
            crops[rows] = classifier.crop(frame, boxes)
            export = [k for k, i in enumerate(rows) if cache.detected[i] and label[i] != IGNORED]
            for k, image in zip(export, crop_faces(frame, [boxes[k] for k in export], set_framing), strict=True):
                i = rows[k]
                rel = (
                    f"{'smile' if label[i] else 'non_smile'}/{Path(labels.name).stem}_{round(t * 1000):09d}ms_t{cache.raw_track_ids[i]}.png"
                )
                write_image_atomic(export_root / rel, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
                png[i] = rel
                manifest.append({"path": rel, "label": rel.split("/")[0], "group": labels.name, "time_s": f"{t:.3f}"})
        n = len(cache.times_s)
        parts.append(
            dict(
                clip=np.full(n, labels.name, dtype=object),
                source=np.full(n, labels.group, dtype=object),
                analysis_id=np.full(n, analysis_id, np.int64),
                row=np.arange(n, dtype=np.int64),
                time_s=cache.times_s,
                track_id=cache.track_ids.astype(np.int64),
                detected=cache.detected.astype(bool),
                label=label,
                crops=crops,
                cnn_prob=cache.cnn_probs.astype(np.float64),
                geometry=cache.geometry.astype(np.float64),
                prob=cache.probs.astype(np.float64),
                png=png,
            )
        )
    write_manifest(export_root, manifest, fields=["path", "label", "group", "time_s"])
    faces = VideoFaces.joined(parts)
    return dataclasses.replace(faces, **{name: getattr(faces, name).astype(str) for name in ("clip", "source", "png")})


def source_folds(faces: VideoFaces, k: int, by: str = "source") -> list[list[str]]:
    """`k` folds of whole sources (or of whole clips, `by="clip"`), balanced by their labelled detected
    faces (largest first, each to the fold with fewest faces). By source is the strict test (a source's
    clips look alike: new footage from new places); by clip, other clips of the same sources, i.e. the
    same people or settings, can sit on the training side, as when a team fine-tunes on its own recordings."""
    keys = getattr(faces, by)
    counts: dict[str, int] = {}
    for key, use in zip(keys, faces.detected & (faces.label != IGNORED), strict=True):
        counts[key] = counts.get(key, 0) + int(use)
    folds: list[list[str]] = [[] for _ in range(k)]
    sizes = [0] * k
    for key in sorted(counts, key=lambda s: (-counts[s], s)):
        j = int(np.argmin(sizes))
        folds[j].append(key)
        sizes[j] += counts[key]
    return [sorted(f) for f in folds]


def fit_stack(cnn_prob: np.ndarray, geometry: np.ndarray, label: np.ndarray) -> Logistic:
    """A calibrated logistic on [CNN logit, geometry logit], fitted on faces with both parts. The store
    keeps geometry's probability, not its features, so this is the fusion a new CNN can be refitted
    with from stored analyses (cross-validated as good as fusion-v1 on the video dev set)."""
    both = ~np.isnan(geometry) & (label != IGNORED)
    return fit_logistic(np.column_stack([logit(cnn_prob[both]), logit(geometry[both])]), label[both])


def stack_probs(stack: Logistic, cnn_prob: np.ndarray, geometry: np.ndarray) -> np.ndarray:
    """Fused probability per face; a face without geometry keeps the CNN's probability (as fusion-v1 does)."""
    fused = stack(np.column_stack([logit(cnn_prob), logit(np.nan_to_num(geometry, nan=0.5))]))
    return np.where(np.isnan(geometry), cnn_prob, fused)


def with_probs(result: AnalysisResult, probs: np.ndarray) -> AnalysisResult:
    """The same analysis with other per-face laugh probabilities (one per score-cache row): series,
    person tracks and segments (peak intensity too) built by `result_from_cache`, as `load_result` builds them."""
    if len(probs) != len(result.cache.times_s):
        raise ValueError(f"{len(probs)} probabilities for {len(result.cache.times_s)} face rows")
    cache = dataclasses.replace(result.cache, probs=np.asarray(probs, np.float64))
    return result_from_cache(result.record, cache, result.fragments, result.smoothing, result.from_cache)
