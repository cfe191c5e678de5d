"""`laughvid train`: pretrain (or continue training) a smile model and write a model directory."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from laughvid.cli import EXIT_OK, EXIT_USAGE
from laughvid.lifecycle.modelcard import CARD_JSON


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a smile model on expression data sets",
        description="Train the smile classifier on the train splits of the given data sets, export it to ONNX "
        "and write a model card with metrics on every test split. Needs the 'train' extra (torch).",
    )
    p.add_argument("--fer2013", type=Path, help="FER2013 folder (train|validation|test/<emotion>/) or fer2013.csv")
    p.add_argument("--smilesmiled", type=Path, help="SMILEsmileD folder (with SMILEs/)")
    p.add_argument("--ckplus", type=Path, help="CK+ class folders (CK+48 style)")
    p.add_argument("--affectnet", type=Path, help="AffectNet class folders, or its annotation CSV (with --affectnet-images)")
    p.add_argument("--affectnet-images", type=Path, help="root folder of AffectNet's subDirectory_filePath")
    p.add_argument("--custom", type=Path, action="append", default=[], help="smile/ + non_smile/ folder (repeatable)")
    p.add_argument(
        "--test-only",
        action="append",
        default=[],
        metavar="KIND",
        help="evaluate on all of this source, never train on it (e.g. smilesmiled for the cross-data-set figure)",
    )
    p.add_argument("--out", type=Path, required=True, help="model directory to write")
    p.add_argument("--init", type=Path, help="model directory to start from (its weights.pt)")
    p.add_argument(
        "--reference",
        type=Path,
        metavar="MODEL_DIR",
        help="cite this model's test-only figures in the card (e.g. the recipe trained without SMILEsmileD)",
    )
    p.add_argument("--epochs", type=int, default=24)
    # Tuning options default to TrainConfig's values (None here: the CLI must not import torch to start).
    p.add_argument("--lr", type=float, help="peak learning rate of the cosine schedule")
    p.add_argument("--widths", type=int, nargs=4, metavar="W", help="channels of the network's four stages")
    p.add_argument("--emotion-weight", type=float, help="weight of the auxiliary expression loss (0: smile loss only)")
    p.add_argument(
        "--repeat",
        action="append",
        default=[],
        metavar="SOURCE=N",
        help="use each training item of this source N times per epoch (e.g. smilesmiled=2)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.set_defaults(func=run)


def command_line(args: argparse.Namespace) -> str:
    """The equivalent command, rebuilt from the parsed options (recorded in the model card)."""
    parts = ["laughvid", "train"]
    for name, value in sorted(vars(args).items()):
        if name in ("func", "command") or value in (None, []):
            continue
        for item in value if isinstance(value, list) else [value]:
            parts += [f"--{name.replace('_', '-')}", str(item)]
    return shlex.join(parts)


def _parse_repeat(values: list[str], kinds: set[str]) -> dict[str, int]:
    repeat = {}
    for value in values:
        kind, _, times = value.partition("=")
        if kind not in kinds or not times.isdigit() or int(times) < 1:
            raise ValueError(f"{value!r}: expected SOURCE=N with N >= 1 and SOURCE one of the given data sets ({', '.join(sorted(kinds))})")
        repeat[kind] = int(times)
    return repeat


def run(args: argparse.Namespace) -> int:
    try:
        from laughvid.training.pipeline import DataSource, build_model
        from laughvid.training.train import TrainConfig
    except ModuleNotFoundError as exc:
        print(f"laughvid train needs the training extra: pip install 'laughvid[train]' ({exc})", file=sys.stderr)
        return EXIT_USAGE
    given = {"fer2013": args.fer2013, "smilesmiled": args.smilesmiled, "ckplus": args.ckplus, "affectnet": args.affectnet}
    sources = [
        DataSource(kind, path, kind in args.test_only, args.affectnet_images if kind == "affectnet" else None)
        for kind, path in given.items()
        if path is not None
    ]
    sources += [DataSource("custom", path, "custom" in args.test_only) for path in args.custom]
    unknown = set(args.test_only) - {s.kind for s in sources}
    if not sources or unknown:
        print("give at least one data set" if not sources else f"--test-only {sorted(unknown)}: no such data set given", file=sys.stderr)
        return EXIT_USAGE
    try:
        repeat = _parse_repeat(args.repeat, {s.kind for s in sources})
    except ValueError as exc:
        print(f"laughvid train: --repeat: {exc}", file=sys.stderr)
        return EXIT_USAGE
    tuning = {
        "repeat": repeat or None,
        "lr": args.lr,
        "widths": tuple(args.widths) if args.widths else None,
        "emotion_weight": args.emotion_weight,
    }
    config = TrainConfig(
        epochs=args.epochs, seed=args.seed, threads=args.threads, **{name: value for name, value in tuning.items() if value is not None}
    )
    try:
        card = build_model(
            sources, args.out, config, init_model_dir=args.init, reference_model_dir=args.reference, command=command_line(args)
        )
    except (FileNotFoundError, ValueError) as exc:
        print(f"laughvid train: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"wrote {args.out} ({card.version}); every figure, unrounded, in {Path(args.out) / CARD_JSON}")
    return EXIT_OK
