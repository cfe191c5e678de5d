"""Face recall on labelled video: on how many analysed frames where someone smiles is a face tracked?

    python scripts/eval_face_recall.py DIR LABELS [--detector blaze+yunet] [--look-again-s 1] [--carry-s 1] [--scan-every 3] [--compare]

LABELS is a labels JSON (format of ../shared/videos/dev/labels.json; the video dev set's adds
"conditions": {name: [[start, end], ...]} and "tags"). For every analysed frame outside `ignore`
spans it asks whether the whole-video series has a face (at least one tracked face, detected or
carried). It prints, per condition and overall, the share of frames with a face
  - inside `smile` spans (what the target is about: a face on >= 97 % of frames where a visible
    person laughs or smiles), and
  - inside the condition's spans (smiling or not),
each with a 95 % bootstrap interval over clips (clips resampled, frames pooled), and faces per
analysed frame on clips tagged `nobody` (false faces; none of them = no figure).
`--compare` runs main's former setting (BlazeFace alone, no second look, nothing carried) first,
then the one given, on the same clips. Analyses are cached in the store (`--store`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from laughvid.lifecycle.video_eval import in_spans
from laughvid.pipeline.analyze import AnalysisParams, analyze_video
from laughvid.pipeline.faces.finder import DETECTORS
from laughvid.pipeline.faces.tracker import TrackerParams

BOOTSTRAP = 2000


@dataclass(frozen=True)
class Clip:
    name: str
    smile: tuple
    ignore: tuple
    conditions: dict
    tags: tuple


def load_clips(path: Path) -> list[Clip]:
    doc = json.loads(path.read_text())
    out = []
    for name, entry in doc["videos"].items():
        if entry.get("labels", ...) is None:
            continue
        conditions = {c: tuple(map(tuple, spans)) for c, spans in (entry.get("conditions") or {}).items() if spans}
        out.append(
            Clip(
                name,
                tuple(map(tuple, entry.get("smile", []))),
                tuple(map(tuple, entry.get("ignore", []))),
                conditions,
                tuple(entry.get("tags", [])),
            )
        )
    return out


@dataclass(frozen=True)
class ClipFrames:
    has_face: np.ndarray  # per analysed frame outside ignore spans
    smile: np.ndarray
    conditions: dict  # condition -> mask
    faces_per_frame: float


def clip_frames(clip: Clip, result) -> ClipFrames:
    times = result.series.times_s
    keep = ~in_spans(times, clip.ignore)
    has_face = ~np.isnan(result.series.probs)
    counts = np.bincount(np.searchsorted(times, result.cache.times_s), minlength=len(times)) if len(times) else np.zeros(0)
    return ClipFrames(
        has_face[keep],
        in_spans(times, clip.smile)[keep],
        {c: in_spans(times, spans)[keep] for c, spans in clip.conditions.items()},
        float(counts.mean()) if len(counts) else 0.0,
    )


def recall(frames: list[ClipFrames], mask_of, rng: np.random.Generator) -> tuple[float, float, float, int, int]:
    """(pooled share, 2.5 %, 97.5 % bootstrap over clips, frames, clips) of frames with a face among those `mask_of` selects."""
    hits = np.array([int(f.has_face[mask_of(f)].sum()) for f in frames])
    totals = np.array([int(mask_of(f).sum()) for f in frames])
    used = totals > 0
    hits, totals = hits[used], totals[used]
    if not used.any():
        return float("nan"), float("nan"), float("nan"), 0, 0
    draws = rng.integers(0, len(totals), (BOOTSTRAP, len(totals)))
    shares = hits[draws].sum(1) / np.maximum(totals[draws].sum(1), 1)
    lo, hi = np.percentile(shares, [2.5, 97.5])
    return hits.sum() / totals.sum(), float(lo), float(hi), int(totals.sum()), int(used.sum())


def report(clips: list[Clip], results: dict, label: str) -> None:
    rng = np.random.default_rng(0)
    frames = {c.name: clip_frames(c, results[c.name]) for c in clips}
    conditions = sorted({k for c in clips for k in c.conditions})
    print(f"\n== {label}")
    print(
        f"{'condition':18s} {'smile frames: with a face [95% CI]':>42s} {'clips':>5s} | {'condition frames: with a face [95% CI]':>46s} {'clips':>5s}"
    )
    rows = [("ALL", lambda f: np.ones(len(f.has_face), bool))] + [
        (c, lambda f, c=c: f.conditions.get(c, np.zeros(len(f.has_face), bool))) for c in conditions
    ]
    for name, mask in rows:
        s = recall(list(frames.values()), lambda f, m=mask: m(f) & f.smile, rng)
        a = recall(list(frames.values()), mask, rng)
        print(
            f"{name:18s} {s[0]:10.3f} [{s[1]:.3f}, {s[2]:.3f}] of {s[3]:6d} frames {s[4]:5d} | "
            f"{a[0]:10.3f} [{a[1]:.3f}, {a[2]:.3f}] of {a[3]:6d} frames {a[4]:5d}"
        )
    worst = sorted((f.has_face[f.smile].mean(), n) for n, f in frames.items() if f.smile.any())[:5]
    print("clips with the fewest smile frames with a face: " + ", ".join(f"{n} {r:.2f}" for r, n in worst))
    nobody = [n for n in frames if "nobody" in next(c for c in clips if c.name == n).tags]
    if nobody:
        print(
            f"false faces: {np.mean([frames[n].faces_per_frame for n in nobody]):.3f} faces per analysed frame on {len(nobody)} clips with nobody"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video_dir", type=Path)
    parser.add_argument("labels", type=Path)
    parser.add_argument("--model", type=Path, help="smile model directory (default: the active model)")
    parser.add_argument("--store", type=Path, help="SQLite store for the analyses (default: a temporary one)")
    parser.add_argument("--detector", choices=DETECTORS, default=AnalysisParams().detector)
    parser.add_argument("--look-again-s", type=float, default=TrackerParams().look_again_s, help="look again for a missed face this long")
    parser.add_argument("--carry-s", type=float, default=TrackerParams().carry_s, help="carry a missed face by its motion this long")
    parser.add_argument(
        "--scan-every", type=int, default=AnalysisParams().scan_every, help="small-face scan every n-th keyframe (0 = never)"
    )
    parser.add_argument("--detect-every", type=int, default=AnalysisParams().detect_every)
    parser.add_argument(
        "--compare", action="store_true", help="first run main's former setting (blaze, no second looks, nothing carried, no scan)"
    )
    args = parser.parse_args(argv)
    from laughvid.lifecycle.registry import load_classifier
    from laughvid.store import open_store

    try:
        clips = load_clips(args.labels)
        missing = [c.name for c in clips if not (args.video_dir / c.name).is_file()]
        if missing:
            raise FileNotFoundError(f"labelled videos not found in {args.video_dir}: {', '.join(missing)}")
        classifier = load_classifier(args.model)
    except (ValueError, KeyError, FileNotFoundError, json.JSONDecodeError) as exc:
        print(f"eval_face_recall: error: {exc}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        conn = open_store(args.store or Path(tmp) / "recall.sqlite")
        base = AnalysisParams(detect_every=args.detect_every, geometry="")  # recall does not depend on the scorer: skip landmarks
        settings = [
            (
                f"{args.detector}, look again {args.look_again_s} s, carry {args.carry_s} s, scan every {args.scan_every} keyframes",
                dataclasses.replace(
                    base,
                    detector=args.detector,
                    scan_every=args.scan_every,
                    tracker=TrackerParams(look_again_s=args.look_again_s, carry_s=args.carry_s),
                ),
            )
        ]
        if args.compare:
            settings.insert(
                0,
                (
                    "main before: blaze, nothing carried",
                    dataclasses.replace(base, detector="blaze", scan_every=0, tracker=TrackerParams(look_again_s=0.0, carry_s=0.0)),
                ),
            )
        for label, params in settings:
            results = {}
            for c in clips:
                print(f"analysing {c.name} ({label})", file=sys.stderr)
                results[c.name] = analyze_video(args.video_dir / c.name, conn, classifier, params)
            report(clips, results, label)
    return 0


if __name__ == "__main__":
    sys.exit(main())
