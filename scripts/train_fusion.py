"""Fit models/fusion/fusion.json (CNN + face geometry) and print its figures; asserts nothing.

    .venv/bin/python scripts/train_fusion.py --data ../shared/data [--out models/fusion] [--cache /tmp/laughvid-fusion]

Loads FER2013, SMILEsmileD and CK+48 with the training loaders and deduplication (so no test image
leaks), scores the validation and test splits with the shipped CNN and the landmark model (features
cached under --cache: ~20 ms per face), fits the fusion on the validation split only, and prints
ROC-AUC with 95 % bootstrap intervals on each test split for: the CNN alone, geometry alone, the plain
average of the CNN probability and mouthSmile (the issue's baseline) and the fusion.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from laughvid.config import SHIPPED_MODEL_DIR
from laughvid.pipeline.faces.landmarks import FEATURES, FaceLandmarker
from laughvid.pipeline.scoring import SmileClassifier
from laughvid.training.data import fit_square, read_grey
from laughvid.training.fit_fusion import fit_fusion, image_features
from laughvid.training.metrics import bootstrap_interval, roc_auc
from laughvid.training.pipeline import DataSource, load_sources

FOLDERS = {"fer2013": "FER2013", "smilesmiled": "SMILEsmileD", "ckplus": "CK+48"}
VERSION = "fusion-v1"
TERMS = [
    "Fitted on the validation splits of FER2013, SMILEsmileD and CK+ (CK+: non-commercial research only) on top of the "
    "shipped CNN: use under the CNN's terms, non-commercial.",
    "Face Mesh V2 and Blendshape V2 (MediaPipe, Apache-2.0) compute its inputs: models/face_landmarker/.",
]


def split_table(items, classifier: SmileClassifier, landmarker: FaceLandmarker, cache: Path, name: str) -> dict:
    """CNN probabilities, face features, labels and sources of `items` (cached by their paths)."""
    key = hashlib.sha1("\n".join(it.path for it in items).encode()).hexdigest()[:12]
    path = cache / f"{name}-{key}.npz"
    if path.is_file():
        return dict(np.load(path, allow_pickle=False))
    greys = [read_grey(it) for it in items]
    table = {
        "cnn": classifier.score(np.stack([fit_square(g, classifier.input_size) for g in greys])),
        "feats": image_features(landmarker, greys),
        "labels": np.array([it.smile for it in items]),
        "sources": np.array([it.source for it in items]),
    }
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, **table)
    return table


def auc_with_interval(labels: np.ndarray, scores: np.ndarray) -> list[float]:
    lo, hi = bootstrap_interval(roc_auc, labels, scores)
    return [round(roc_auc(labels, scores), 4), round(lo, 4), round(hi, 4)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=REPO / "models" / "fusion")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/laughvid-fusion"))
    parser.add_argument("--l2", type=float, default=1.0)
    args = parser.parse_args()
    splits, dedup = load_sources([DataSource(kind, args.data / folder) for kind, folder in FOLDERS.items()], log=print)
    classifier = SmileClassifier.load(SHIPPED_MODEL_DIR)
    landmarker = FaceLandmarker.load()
    val = split_table(splits["validation"], classifier, landmarker, args.cache, "validation")
    test = split_table(splits["test"], classifier, landmarker, args.cache, "test")
    smile = list(FEATURES).index("mouthSmile")
    jaw = val["feats"][:, list(FEATURES).index("jawOpen")]
    # Openness scale, read off the smiling validation faces: a typical (median) smile counts as closed, the widest 5 % as fully open.
    open_low, open_high = (float(np.percentile(jaw[val["labels"] == 1], q)) for q in (50, 95))
    model = fit_fusion(
        VERSION,
        val["cnn"],
        val["feats"],
        val["labels"],
        args.l2,
        open_low=open_low,
        open_high=open_high,
        trained_on={
            "split": "validation",
            "sources": {s: int(np.sum(val["sources"] == s)) for s in FOLDERS},
            "smile_items": int(val["labels"].sum()),
            "cnn": classifier.version,
            "dedup": dedup,
        },
        terms=TERMS,
    )
    report = {}
    for source in FOLDERS:
        mine = test["sources"] == source
        labels, cnn, feats = test["labels"][mine], test["cnn"][mine], test["feats"][mine]
        report[f"{source}_test"] = {
            "n": int(mine.sum()),
            "n_smile": int(labels.sum()),
            "cnn": auc_with_interval(labels, cnn),
            "geometry": auc_with_interval(labels, model.geometry_score(feats)),
            "mouth_smile": auc_with_interval(labels, feats[:, smile]),
            "average_cnn_mouth_smile": auc_with_interval(labels, (cnn + feats[:, smile]) / 2),
            "fusion": auc_with_interval(labels, model.fuse(cnn, feats)),
            "landmark_presence_below_0.5": int(np.sum(feats[:, list(FEATURES).index("presence")] < 0.5)),
        }
    model.metrics = {"roc_auc [value, 95% bootstrap low, high]": report}
    print(json.dumps(report, indent=1))
    print("fused coefficients:", dict(zip(["cnn_logit", *FEATURES], np.round(model.fused.coef, 3), strict=True)))
    print(f"wrote {model.save(args.out)}")


if __name__ == "__main__":
    main()
