"""`laughvid finetune DATA [DATA ...] --out MODEL_DIR`: fine-tune the active model on collected data."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from laughvid.cli import EXIT_OK, EXIT_USAGE
from laughvid.lifecycle.modelcard import CARD_JSON


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "finetune",
        help="fine-tune the smile model on collected smile/ non_smile/ data, gate and promote",
        description="Start from the active model (or --model), train on the consented crops of each DATA folder "
        "(smile/ + non_smile/, optional manifest.csv) except its frozen validation split, replay "
        "pretraining data against forgetting, print before/after metrics and the promotion gate, "
        "register the new model and promote it if it passes. Needs the 'train' extra (torch).",
    )
    p.add_argument("data", type=Path, nargs="+", metavar="DATA")
    p.add_argument("--out", type=Path, required=True, metavar="MODEL_DIR")
    p.add_argument("--model", help="model directory or registered version to start from (default: the active model)")
    for kind in ("fer2013", "smilesmiled", "ckplus", "affectnet"):
        p.add_argument(f"--{kind}", type=Path, help=f"{kind} data to replay (its test split is a public gate set)")
    p.add_argument("--no-replay", action="store_true", help="allow fine-tuning without replay data (risks forgetting)")
    p.add_argument(
        "--consent-ref", default="", help="consent reference for images without one in the manifest: a participant id or public:<dataset>"
    )
    p.add_argument("--faces", choices=("auto", "crops", "detect"), default="auto", help="as in eval-images")
    recipe = p.add_argument_group("recipe (defaults: the measured best, docs/finetune.md)")
    recipe.add_argument("--epochs", type=int)
    recipe.add_argument("--lr", type=float, help="learning rate of the head")
    recipe.add_argument("--trainable", choices=("all", "last", "head"), help="which layers learn")
    recipe.add_argument("--backbone-lr", type=float, help="learning rate below the head, as a share of --lr")
    recipe.add_argument("--replay-ratio", type=float, help="replayed public items per collected training item")
    p.add_argument(
        "--margin",
        type=float,
        help="largest public ROC-AUC drop the gate accepts: the low end of the change's 95%% interval must be above -MARGIN "
        "(default 0.005)",
    )
    p.add_argument(
        "--min-validation-groups",
        type=int,
        help="fewest people/videos in the frozen validation split for the gate to promote (default 20: fewer give "
        "intervals too narrow to trust, docs/finetune.md)",
    )
    p.add_argument("--no-promote", action="store_true", help="register the new model but never activate it")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, help="CPU threads training uses (default 2, as `laughvid train`; 1 leaves a core free)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        from laughvid.training.finetune import FinetuneConfig, finetune, load_replay
        from laughvid.training.pipeline import DataSource
    except ModuleNotFoundError as exc:
        print(f"laughvid finetune needs the training extra: pip install 'laughvid[train]' ({exc})", file=sys.stderr)
        return EXIT_USAGE
    from laughvid.lifecycle.registry import GateRule
    from laughvid.store import open_store

    replay = [
        DataSource(kind, getattr(args, kind))
        for kind in ("fer2013", "smilesmiled", "ckplus", "affectnet")
        if getattr(args, kind) is not None
    ]
    if not replay and not args.no_replay:
        print(
            "laughvid finetune: give the pretraining data to replay (--fer2013/--smilesmiled/--ckplus/--affectnet) "
            "so the model does not forget it, or --no-replay",
            file=sys.stderr,
        )
        return EXIT_USAGE
    recipe = {
        k: getattr(args, k) for k in ("epochs", "lr", "trainable", "backbone_lr", "replay_ratio", "threads") if getattr(args, k) is not None
    }
    gate_rule = {k: v for k, v in (("margin", args.margin), ("min_groups", args.min_validation_groups)) if v is not None}
    gate = GateRule(**gate_rule)
    config = FinetuneConfig(**recipe, seed=args.seed, faces=args.faces, gate=gate)
    try:
        result = finetune(
            args.data,
            args.out,
            open_store(),
            load_replay(replay),
            parent=args.model,
            config=config,
            default_consent_ref=args.consent_ref,
            promote=not args.no_promote,
            command="laughvid " + shlex.join(sys.argv[1:]),
        )
    except (FileNotFoundError, ValueError) as exc:  # the training data's own checks; a LaughvidError is a ValueError too
        print(f"laughvid finetune: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(result.report())
    print(
        f"wrote {result.model_dir} ({result.version}) in {result.seconds:.0f} s: "
        f"{'PROMOTED, now the active model' if result.promoted else 'registered, not promoted'}; "
        f"every figure, unrounded, in {result.model_dir / CARD_JSON}"
    )
    return EXIT_OK
