"""Evaluate a shipped (ONNX) smile model on labelled images: the figures in the model card and
`laughvid eval-images` are measured on exactly what the product runs, not on the torch network."""

from __future__ import annotations

import csv
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from laughvid.atomic import atomic_open
from laughvid.export.contact_sheet import tile_grid
from laughvid.pipeline.faces.detector import FaceDetector
from laughvid.pipeline.scoring import SmileClassifier
from laughvid.training.data import ImageItem, fit_square, load_arrays, load_smile_folders
from laughvid.training.metrics import binary_metrics, bootstrap_interval, roc_auc

# In `auto` mode an image this small (shorter side, pixels) is taken as a face crop.
CROP_MAX_SIDE = 128
# ... and so is a larger image whose largest detected face spans this much of its shorter side.
CROP_FACE_FRACTION = 0.6
FACE_MODES = ("auto", "crops", "detect")
# What a person may write in the `checked` column of a label-check sheet (blank: not looked at yet).
CHECKED_LABELS = {"smile": 1, "non_smile": 0, "unsure": None}
# The figures `eval-images` gives a 95 % bootstrap interval: on a few dozen images they move by several points.
INTERVAL_METRICS = ("roc_auc", "balanced_accuracy", "f1")


def score_items(classifier: SmileClassifier, items: list[ImageItem]) -> np.ndarray:
    """Calibrated probabilities for face-crop items (resized to the model's input size)."""
    images, _ = load_arrays(items, classifier.input_size)
    return classifier.score(images)


def evaluate(classifier: SmileClassifier, items: list[ImageItem]) -> dict[str, float]:
    """Metrics at the model's own threshold (see `binary_metrics`)."""
    labels = np.array([it.smile for it in items])
    return binary_metrics(labels, score_items(classifier, items), classifier.threshold)


@dataclass
class ImageScore:
    path: str
    label: int
    score: float | None  # None: no face found, or unreadable
    how: str  # crop | detected | no_face | unreadable
    face: np.ndarray | None = field(default=None, repr=False)  # what the model saw (grey, input size)


@dataclass
class FolderEvaluation:
    model_version: str
    threshold: float
    rows: list[ImageScore] = field(default_factory=list)

    def summary(self) -> dict:
        scored = [r for r in self.rows if r.score is not None]
        metrics = (
            binary_metrics(np.array([r.label for r in scored]), np.array([r.score for r in scored]), self.threshold) if scored else {"n": 0}
        )
        counts = {how: sum(r.how == how for r in self.rows) for how in ("crop", "detected", "no_face", "unreadable")}
        return {
            "model": self.model_version,
            "images": len(self.rows),
            **metrics,
            "used_as_crop": counts["crop"],
            "face_detected": counts["detected"],
            "no_face": counts["no_face"],
            "unreadable": counts["unreadable"],
        }

    def intervals(self, resamples: int = 1000, level: float = 0.95) -> dict[str, tuple[float, float]]:
        """Percentile bootstrap interval (images resampled) of each of `INTERVAL_METRICS`; NaN without both classes."""
        scored = [r for r in self.rows if r.score is not None]
        labels, scores = np.array([r.label for r in scored], bool), np.array([r.score for r in scored], np.float64)
        if not len(scored):
            return {name: (float("nan"), float("nan")) for name in INTERVAL_METRICS}

        def at_threshold(name: str):
            return lambda y, p: binary_metrics(y, p, self.threshold)[name]

        metrics = {"roc_auc": roc_auc, **{name: at_threshold(name) for name in INTERVAL_METRICS if name != "roc_auc"}}
        return {name: bootstrap_interval(metrics[name], labels, scores, resamples, level) for name in INTERVAL_METRICS}

    def with_checked_labels(self, folder: str | Path, checked: dict[str, int | None]) -> tuple[FolderEvaluation, dict]:
        """The same scores against labels a person checked (`read_checked_labels`, paths relative
        to `folder`): corrected labels replace the folder's, images marked unsure are left out."""
        rows, counts = [], {"checked": 0, "relabelled": 0, "unsure_left_out": 0}
        for row in self.rows:
            key = Path(row.path).relative_to(folder).as_posix()
            if key not in checked:
                rows.append(row)
                continue
            counts["checked"] += 1
            if checked[key] is None:
                counts["unsure_left_out"] += 1
                continue
            counts["relabelled"] += checked[key] != row.label
            rows.append(dataclasses.replace(row, label=checked[key]))
        counts["not_in_folder"] = len(checked) - counts["checked"]
        return FolderEvaluation(self.model_version, self.threshold, rows), counts


def write_label_check(rows: list[ImageScore], folder: str | Path, path: str | Path) -> None:
    """The sheet's images as CSV, in tile order (row by row), with an empty `checked` column for a
    person to fill in (smile / non_smile / unsure); `eval-images --checked-labels` reads it back."""
    with atomic_open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["tile", "path", "label", "score", "checked"])
        for tile, row in enumerate(rows, 1):
            writer.writerow(
                [tile, Path(row.path).relative_to(folder).as_posix(), "smile" if row.label else "non_smile", f"{row.score:.4f}", ""]
            )


def read_checked_labels(path: str | Path) -> dict[str, int | None]:
    """{image path relative to the folder: checked label (1, 0, or None for unsure)} from a filled-in
    label-check CSV (columns `path` and `checked`); rows left blank are skipped."""
    checked: dict[str, int | None] = {}
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"path", "checked"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: needs the columns path and checked (as written next to a --disagreements sheet)")
        for line, row in enumerate(reader, 2):
            value = (row["checked"] or "").strip().lower()
            if not value:
                continue
            if value not in CHECKED_LABELS:
                raise ValueError(f"{path}, line {line}: checked is {value!r}; write one of {', '.join(CHECKED_LABELS)} or leave it blank")
            checked[row["path"]] = CHECKED_LABELS[value]
    return checked


def face_input(rgb: np.ndarray, classifier: SmileClassifier, detector: FaceDetector | None, mode: str) -> tuple[np.ndarray | None, str]:
    """The model input for one image and how it was found: the image itself if it is a face crop,
    else the largest detected face framed as in training."""
    size = classifier.input_size
    if mode == "crops" or (mode == "auto" and min(rgb.shape[:2]) <= CROP_MAX_SIDE):
        return fit_square(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), size), "crop"
    faces = detector.detect(rgb) if detector is not None else []
    if not faces:
        return None, "no_face"
    box = max(faces, key=lambda d: (d.box[2] - d.box[0]) * (d.box[3] - d.box[1])).box
    if mode == "auto" and max(box[2] - box[0], box[3] - box[1]) >= CROP_FACE_FRACTION * min(rgb.shape[:2]):
        return fit_square(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), size), "crop"
    return classifier.crop(rgb, [box])[0], "detected"


def evaluate_folder(folder: str | Path, classifier: SmileClassifier, mode: str = "auto", keep_faces: bool = False) -> FolderEvaluation:
    """Score every image under `folder/smile` and `folder/non_smile`. Crops are used as they are;
    larger photos are scored by their largest face (found by the video pipeline's detector).
    `keep_faces` keeps each model input on its row (for `contact_sheet`; ~2 KB per image)."""
    if mode not in FACE_MODES:
        raise ValueError(f"unknown face mode {mode!r} (one of {', '.join(FACE_MODES)})")
    items = load_smile_folders(folder)
    detector = FaceDetector() if mode != "crops" else None
    result = FolderEvaluation(classifier.version, classifier.threshold)
    inputs, slots = [], []
    for item in items:
        bgr = cv2.imread(item.path, cv2.IMREAD_COLOR)
        if bgr is None:
            result.rows.append(ImageScore(item.path, item.smile, None, "unreadable"))
            continue
        face, how = face_input(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), classifier, detector, mode)
        result.rows.append(ImageScore(item.path, item.smile, None, how, face if keep_faces else None))
        if face is not None:
            inputs.append(face)
            slots.append(len(result.rows) - 1)
    if inputs:
        for slot, score in zip(slots, classifier.score(np.stack(inputs)), strict=False):
            result.rows[slot].score = float(score)
    return result


def disagreements(result: FolderEvaluation, top: int) -> list[ImageScore]:
    """The `top` images where model and label disagree most confidently: on public sets and on
    one's own fine-tune set these are mostly label errors, the first thing to check and correct."""
    wrong = [r for r in result.rows if r.score is not None and (r.score >= result.threshold) != bool(r.label)]
    return sorted(wrong, key=lambda r: -abs(r.score - r.label))[:top]


def contact_sheet(rows: list[ImageScore], tile: int = 96, columns: int = 8) -> np.ndarray:
    """Grey grid of the model inputs, each captioned with its label and the model's probability."""
    return tile_grid([row.face for row in rows], [[f"{'smile' if row.label else 'non'} p={row.score:.2f}"] for row in rows], tile, columns)
