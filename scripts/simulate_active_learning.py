"""Simulate the active-learning loop on real faces and print learning curves.

Faces the base model never trained on play the team's "collected data": CK+ subjects outside its
training split (default), or SMILEsmileD (`--collected smilesmiled`) when the base kept it test-only.
They are split by group into a pool (unlabelled material a reviewer could label) and the rest (a
frozen validation split: never labelled, never trained on). For each budget k, label k pool images
chosen by the active-learning ranking (`laughvid.review.queue.rank`: uncertainty near the
threshold, rare conditions, one pick per CK+ sequence) or k random pool images, fine-tune the base
model on them with the product's `finetune` (replay of the pretraining data, same config), and
measure the gain on the rest and the change on the public test sets.

    .venv/bin/python scripts/simulate_active_learning.py --data ../shared/data [--model DIR] \
        [--collected ckplus|smilesmiled] [--k 10 20 40 80]

Nothing is written to the user's store (an in-memory one is used); fine-tune sets and models go to
`--out` (default runs/active_learning_sim, git-ignored: they hold research-only faces).
Measured results: docs/finetune.md.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from laughvid.lifecycle import registry
from laughvid.lifecycle.set_versions import freeze_validation, load_collected, write_items
from laughvid.pipeline.scoring import SmileClassifier
from laughvid.review.queue import Candidate, crop_brightness, rank
from laughvid.store import open_store
from laughvid.training.data import CKPLUS_NAME, ImageItem, deduplicate, load_arrays, load_ckplus, load_smilesmiled
from laughvid.training.finetune import VALIDATION, FinetuneConfig, finetune, load_replay
from laughvid.training.pipeline import DataSource

REPLAY_FOLDERS = {"fer2013": "FER2013", "smilesmiled": "SMILEsmileD", "ckplus": "CK+48"}
CONSENT = "public:research-dataset"


def held_out(kind: str, data_root: Path, base: SmileClassifier) -> list[ImageItem]:
    """Images of `kind` the base model did not train on: its held-out subjects (CK+), or all of
    the data set if the base never trained on it (e.g. SMILEsmileD kept test-only)."""
    loaded = load_ckplus(data_root / REPLAY_FOLDERS[kind]) if kind == "ckplus" else load_smilesmiled(data_root / REPLAY_FOLDERS[kind])
    items, _ = deduplicate(loaded)  # SMILEsmileD has copies with conflicting labels
    return [it for it in items if it.split != "train"] if kind in base.card.training_sources else items


def sequence_of(item: ImageItem) -> str:
    """CK+ frames of one sequence are near-identical: the ranking takes at most one per sequence."""
    match = CKPLUS_NAME.match(Path(item.path).name)
    return "_".join(match.groups()) if match else item.group


def split_groups(items: list[ImageItem], pool_share: float, seed: int) -> tuple[list[ImageItem], list[ImageItem]]:
    groups = sorted({it.group for it in items}, key=lambda s: hashlib.sha1(f"{seed}:{s}".encode()).hexdigest())
    pool = set(groups[: round(len(groups) * pool_share)])
    return [it for it in items if it.group in pool], [it for it in items if it.group not in pool]


def ranked_choice(pool: list[ImageItem], base: SmileClassifier, k: int) -> list[ImageItem]:
    """The k pool images the ranking puts first (at most one per CK+ sequence)."""
    images, _ = load_arrays(pool, base.input_size)
    probs = base.score(images)
    candidates = []
    for i, (it, p) in enumerate(zip(pool, probs, strict=False)):
        candidates.append(Candidate(i, float(p), brightness=crop_brightness(images[i]), video=sequence_of(it), track_id=0, time_s=0.0))
    return [pool[r.candidate.key] for r in rank(candidates, base.threshold, k=k, min_gap_s=1.0)]


def write_set(root: Path, labelled: list[ImageItem], rest: list[ImageItem]) -> Path:
    """A fine-tune set of the labelled pool images plus the rest, whose groups are frozen as validation."""
    shutil.rmtree(root, ignore_errors=True)
    write_items(root, labelled + rest, CONSENT)
    freeze_validation(root, load_collected(root), groups=sorted({it.group for it in rest}))
    return root


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--model", help="base model directory or version (default: the active model)")
    ap.add_argument(
        "--collected",
        choices=("ckplus", "smilesmiled"),
        default="ckplus",
        help="data set playing the collected data (SMILEsmileD has no person ids: grouped by image)",
    )
    ap.add_argument("--k", type=int, nargs="+", default=[10, 20, 40, 80], help="labelling budgets")
    ap.add_argument("--random-draws", type=int, default=2, help="random selections averaged per budget")
    ap.add_argument("--pool-share", type=float, default=0.5, help="share of held-out groups a reviewer may label")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("runs/active_learning_sim"))
    args = ap.parse_args()
    started = time.time()
    quiet = lambda _: None  # noqa: E731

    if not (args.data / REPLAY_FOLDERS[args.collected]).is_dir():
        print(
            f"needs {REPLAY_FOLDERS[args.collected]} under {args.data} (research-only data, see ../shared/data/README.md)", file=sys.stderr
        )
        return 2
    base_dir = registry.resolve_model_dir(args.model)
    base = SmileClassifier.load(base_dir)
    held = held_out(args.collected, args.data, base)
    pool, rest = split_groups(held, args.pool_share, args.seed)
    held_keys = {(it.source, it.group) for it in held}
    sources = [DataSource(kind, args.data / REPLAY_FOLDERS[kind]) for kind in base.card.training_sources if kind in REPLAY_FOLDERS]
    replay = load_replay(sources, log=quiet)
    replay = {split: [it for it in items if (it.source, it.group) not in held_keys] for split, items in replay.items()}
    print(
        f"base model {base.version}; held-out {args.collected} groups: pool {len({i.group for i in pool})} groups / {len(pool)} images, "
        f"rest {len({i.group for i in rest})} groups / {len(rest)} images ({sum(i.smile for i in rest)} smiling); "
        f"replay from {', '.join(s.kind for s in sources)} ({time.time() - started:.0f} s)"
    )

    rng = np.random.default_rng(args.seed)
    config = FinetuneConfig(epochs=args.epochs, seed=args.seed, public_test_max=1500)
    conn = open_store(":memory:")
    curves: dict[str, dict[int, list[dict]]] = {"ranked": {}, "random": {}}
    base_metrics = None
    for k in args.k:
        draws = [("ranked", ranked_choice(pool, base, k))]
        draws += [
            ("random", [pool[i] for i in rng.choice(len(pool), size=min(k, len(pool)), replace=False)]) for _ in range(args.random_draws)
        ]
        for n, (strategy, labelled) in enumerate(draws):
            name = f"{strategy}_k{k}_{n}"
            t0 = time.time()
            shutil.rmtree(args.out / "models" / name, ignore_errors=True)
            result = finetune(
                [write_set(args.out / "sets" / name, labelled, rest)],
                args.out / "models" / name,
                conn,
                replay,
                parent=base_dir,
                config=config,
                promote=False,
                log=quiet,
            )
            base_metrics = result.before
            curves[strategy].setdefault(k, []).append(result.after)
            v = result.after[VALIDATION]
            print(
                f"  {name:<16} smiling picks {sum(it.smile for it in labelled):>3}/{k:<3} rest F1 {v['f1']:.3f} "
                f"ROC-AUC {v['roc_auc']:.3f} gate {'PASS' if result.gate.promote else 'fail'} ({time.time() - t0:.0f} s)"
            )

    if base_metrics is None:
        print("no fine-tune ran", file=sys.stderr)
        return 1
    sets = list(base_metrics)
    print(
        f"\nLearning curves on the rest ({len(rest)} images of {args.collected} groups never labelled nor trained on); "
        f"random = mean of {args.random_draws} draws"
    )
    for metric in ("f1", "roc_auc", "pr_auc"):
        print(f"  {metric:<8} {'k':>4}  {'ranked':>7}  {'random':>7}  {'ranked-random':>13}")
        print(f"  {'':<8} {0:>4}  {base_metrics[VALIDATION][metric]:>7.3f}  {base_metrics[VALIDATION][metric]:>7.3f}")
        for k in args.k:
            r = [m[VALIDATION][metric] for m in curves["ranked"].get(k, [])]
            q = [m[VALIDATION][metric] for m in curves["random"].get(k, [])]
            if r and q:
                print(f"  {'':<8} {k:>4}  {np.mean(r):>7.3f}  {np.mean(q):>7.3f}  {np.mean(r) - np.mean(q):>+13.3f}")
    k_max = max(k for k in args.k if curves["ranked"].get(k))
    print(f"\nGain on the rest at k={k_max} (ranked) vs the base model, and the public test sets (forgetting check):")
    for name in sets:
        b, a = base_metrics[name], curves["ranked"][k_max][0][name]
        print(
            f"  {name:<20} F1 {b['f1']:.3f} -> {a['f1']:.3f} ({a['f1'] - b['f1']:+.3f})   "
            f"ROC-AUC {b['roc_auc']:.3f} -> {a['roc_auc']:.3f} ({a['roc_auc'] - b['roc_auc']:+.3f})"
        )
    print(f"\ntotal {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
