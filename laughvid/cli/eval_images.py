"""`laughvid eval-images DIR`: check a smile model on your own labelled photos or face crops."""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path

from laughvid.cli import EXIT_FAILURES, EXIT_OK, EXIT_USAGE


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "eval-images",
        help="evaluate a smile model on a folder of labelled images",
        description="DIR holds smile/ and non_smile/ subfolders of face crops or photos. Prints JSON metrics "
        "(n, accuracy, balanced accuracy, F1, ROC-AUC, PR-AUC) at the model's threshold. Photos are "
        "scored by their largest face; images without a face are counted, not scored.",
    )
    p.add_argument("folder", type=Path, metavar="DIR")
    p.add_argument("--model", type=Path, help="model directory (default: the active model)")
    p.add_argument("--scores", type=Path, metavar="FILE", help="also write path,score,label per image (CSV)")
    p.add_argument(
        "--disagreements",
        type=Path,
        metavar="PNG",
        help="write a contact sheet of the images where model and label disagree most (label check), "
        "and beside it a CSV of those images with a 'checked' column to fill in",
    )
    p.add_argument("--top", type=int, default=64, help="how many disagreements the sheet shows (default 64)")
    p.add_argument(
        "--checked-labels", type=Path, metavar="CSV", help="a filled-in label-check CSV: also report the figures against the checked labels"
    )
    p.add_argument(
        "--faces",
        choices=("auto", "crops", "detect"),
        default="auto",
        help="auto: small images (<=128 px) and images filled by one face are crops, others are "
        "searched for faces; crops: use every image as it is; detect: always detect",
    )
    p.set_defaults(func=run)


def _json_safe(value):
    return None if isinstance(value, float) and math.isnan(value) else value


def run(args: argparse.Namespace) -> int:
    from laughvid.atomic import atomic_open, write_image_atomic
    from laughvid.lifecycle.registry import load_classifier
    from laughvid.training.evaluate import contact_sheet, disagreements, evaluate_folder, read_checked_labels, write_label_check

    if not args.folder.is_dir():
        print(f"eval-images: {args.folder} is not a folder", file=sys.stderr)
        return EXIT_USAGE
    try:
        classifier = load_classifier(args.model)
        checked = read_checked_labels(args.checked_labels) if args.checked_labels else None
        result = evaluate_folder(args.folder, classifier, args.faces, keep_faces=args.disagreements is not None)
    except (FileNotFoundError, ValueError) as exc:
        print(f"eval-images: {exc}", file=sys.stderr)
        return EXIT_USAGE
    summary = {k: _json_safe(v) for k, v in result.summary().items()}
    if checked is not None:
        rechecked, counts = result.with_checked_labels(args.folder, checked)
        summary["checked_labels"] = {
            **counts,
            **{
                k: _json_safe(v)
                for k, v in rechecked.summary().items()
                if k not in ("model", "used_as_crop", "face_detected", "no_face", "unreadable")
            },
        }
    print(json.dumps(summary, indent=2))
    try:
        if args.scores:
            with atomic_open(args.scores, "w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["path", "score", "label"])
                for row in result.rows:
                    writer.writerow([row.path, "" if row.score is None else f"{row.score:.6f}", row.label])
        if args.disagreements:
            worst = disagreements(result, args.top)
            write_image_atomic(args.disagreements, contact_sheet(worst))
            check_file = args.disagreements.with_suffix(".csv")
            write_label_check(worst, args.folder, check_file)
            print(
                f"eval-images: {len(worst)} most confident disagreements -> {args.disagreements} "
                f"(fill in {check_file}'s 'checked' column, then pass it to --checked-labels)",
                file=sys.stderr,
            )
    except OSError as exc:  # full disk, no permission: earlier files of this run stay whole, none is half written
        print(f"eval-images: cannot write an output file: {exc}", file=sys.stderr)
        return EXIT_FAILURES
    for row in result.rows:
        if row.how == "unreadable":
            print(f"eval-images: could not read {row.path}", file=sys.stderr)
    if summary["n"] == 0:
        print("eval-images: no image could be scored", file=sys.stderr)
        return EXIT_FAILURES
    return EXIT_FAILURES if summary["unreadable"] else EXIT_OK
