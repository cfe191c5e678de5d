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
        description="DIR holds smile/ and non_smile/ subfolders of face crops or photos. Prints the figures "
        "at the model's threshold (ROC-AUC, balanced accuracy and F1 with 95%% bootstrap intervals; accuracy, "
        "precision, recall, PR-AUC); --json prints them for scripts. Photos are scored by their largest face; "
        "images without a face are counted, not scored.",
    )
    p.add_argument("folder", type=Path, metavar="DIR")
    p.add_argument("--model", type=Path, help="model directory (default: the active model)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON, unrounded, intervals as [low, high] (for scripts)")
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


INTERVAL = "95% percentile bootstrap over the scored images, 1000 resamples"
NAMES = {"roc_auc": "ROC-AUC", "balanced_accuracy": "balanced accuracy", "f1": "F1 (smile)"}
OTHERS = {"accuracy": "accuracy", "precision": "precision", "recall": "recall", "pr_auc": "PR-AUC"}


def _json_safe(value):
    """NaN (a figure one class cannot give) as null, intervals as [low, high]."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return None if isinstance(value, float) and math.isnan(value) else value


def _num(value) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4f}"


def _figures(summary: dict) -> list[str]:
    """The figures of one set of labels, named, to 4 decimals, the main ones with their interval."""
    if not summary["n"]:
        return ["  no image scored: no figures"]
    lines = [
        f"  {name:<18} {_num(summary[key])}  [{_num(summary['intervals'][key][0])}, {_num(summary['intervals'][key][1])}]"
        for key, name in NAMES.items()
    ]
    lines.append("  " + ", ".join(f"{name} {_num(summary[key])}" for key, name in OTHERS.items()))
    return lines


def _report(summary: dict) -> str:
    """What a person reads: counts, then named figures (the JSON keeps every digit for scripts)."""
    n, pos = summary["n"], summary.get("n_smile", 0)
    lines = [
        f"model {summary['model']} at threshold {_num(summary.get('threshold'))}: {summary['images']} image(s), "
        f"{n} scored ({pos} smile, {n - pos} non-smile)",
        f"  used as crop {summary['used_as_crop']}, face detected {summary['face_detected']}, "
        f"no face {summary['no_face']} (not scored), unreadable {summary['unreadable']}",
        *_figures(summary),
    ]
    checked = summary.get("checked_labels")
    if checked is not None:
        lines.append(
            f"against the checked labels ({checked['checked']} checked, {checked['relabelled']} relabelled, "
            f"{checked['unsure_left_out']} unsure left out): {checked['n']} scored ({checked.get('n_smile', 0)} smile)"
        )
        lines += _figures(checked)
    lines.append(f"  [low, high]: {INTERVAL}")
    return "\n".join(lines)


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
    summary = {**result.summary(), "intervals": result.intervals(), "interval": INTERVAL}
    if checked is not None:
        rechecked, counts = result.with_checked_labels(args.folder, checked)
        summary["checked_labels"] = {
            **counts,
            **{
                k: v for k, v in rechecked.summary().items() if k not in ("model", "used_as_crop", "face_detected", "no_face", "unreadable")
            },
            "intervals": rechecked.intervals(),
        }
    print(json.dumps(_json_safe(summary), indent=2) if args.json else _report(summary))
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
