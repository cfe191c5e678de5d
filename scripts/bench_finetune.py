"""How long does `laughvid finetune` take on a few thousand crops? Prints the figures.

Builds a fine-tune set of N real face crops (SMILEsmileD, LFW news photos: a population the
pretraining saw little of when the model was trained with SMILEsmileD test-only) under
runs/bench_finetune/ (git-ignored: research-only faces), then runs the product's fine-tune with
replay exactly as `laughvid finetune` does, on an in-memory store, and prints the wall time of each
stage and the before/after table.

    .venv/bin/python scripts/bench_finetune.py --data ../shared/data [--n 3000] [--model DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from laughvid.lifecycle.registry import resolve_model_dir
from laughvid.lifecycle.set_versions import write_items
from laughvid.pipeline.scoring import SmileClassifier
from laughvid.store import open_store
from laughvid.training.data import deduplicate, load_smilesmiled
from laughvid.training.finetune import FinetuneConfig, finetune, load_replay
from laughvid.training.pipeline import DataSource

REPLAY_FOLDERS = {"fer2013": "FER2013", "smilesmiled": "SMILEsmileD", "ckplus": "CK+48"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--model", help="model directory or version to start from (default: the active model)")
    ap.add_argument("--n", type=int, default=3000, help="collected crops in the set")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--out", type=Path, default=Path("runs/bench_finetune"))
    args = ap.parse_args()

    started = time.time()
    base_dir = resolve_model_dir(args.model)
    base = SmileClassifier.load(base_dir)
    items, _ = deduplicate(load_smilesmiled(args.data / "SMILEsmileD"))
    if "smilesmiled" in base.card.training_sources:
        items = [it for it in items if it.split != "train"]  # only faces the base never trained on
    rng = np.random.default_rng(0)
    items = [items[i] for i in sorted(rng.choice(len(items), size=min(args.n, len(items)), replace=False))]
    shutil.rmtree(args.out, ignore_errors=True)
    root = write_items(args.out / "set", items, consent_ref="public:SMILEsmileD")
    t_set = time.time()

    sources = [DataSource(k, args.data / REPLAY_FOLDERS[k]) for k in base.card.training_sources if k in REPLAY_FOLDERS]
    replay = load_replay(sources, log=lambda _: None)
    t_replay = time.time()
    result = finetune(
        [root],
        args.out / "model",
        open_store(":memory:"),
        replay,
        parent=base_dir,
        config=FinetuneConfig(epochs=args.epochs),
        promote=False,
        log=lambda _: None,
    )
    t_done = time.time()
    training = SmileClassifier.load(args.out / "model").card.training
    print(result.report())
    print(
        f"\n{args.n} crops (SMILEsmileD, grouped by image), base {base.version}, {os.cpu_count()} CPUs visible, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"  build set {t_set - started:.1f} s | load + dedup replay data {t_replay - t_set:.1f} s | "
        f"fine-tune {t_done - t_replay:.1f} s, of which training {training['seconds']:.1f} s "
        f"(the rest: reading crops, evaluating parent and candidate, ONNX export)"
    )
    print(f"  training items: {training['items']}")
    print(f"  total {t_done - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
