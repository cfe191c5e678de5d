"""Fit the fusion on labelled video faces by leave-one-source-out CV; prints figures, optionally writes fusion.json.

    .venv/bin/python scripts/fit_fusion_videos.py VIDEO_DIR LABELS_JSON --work DIR [--model models/smile]
        [--landmark-every 2] [--write models/fusion --version fusion-v2]

Step 1 (once per --landmark-every, cached in DIR): every clip is analysed as the product analyses it,
with landmarks wherever the schedule puts them (gate 0), recording per face row the CNN's crop and
probability and the features the product fuses (laughvid.lifecycle.video_fusion). The CNN is rescored
from the crops on every run, so a changed model in --model needs no new analysis.

Step 2: per-face probabilities from fusions fitted without each face's source (L2 chosen inside the
training sources), then each clip's timeline rebuilt with them (per-person score window, default
smoothing) and scored: event F1 (0.5 s collar), frame F1, frame ROC-AUC, talking-only frames flagged,
with 95 % intervals over clips, and paired against fusion-v1 on the same clips. Everything here is
at `landmark_gate=0` (what was recorded, exactly the product with that gate); the default gate's
effect is measured by analysing with it (docs/model.md: on fusion-v1 it changes no event). Variants
(--variants): all features, single-face frames only for training, a 7-feature subset, blendshapes as
log-odds; `none` prints only fusion-v1 and the CNN.

--write fits both regressions on all clips (L2 by CV) and saves fusion.json to that folder.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from laughvid.lifecycle.registry import load_classifier
from laughvid.lifecycle.video_eval import load_labels, paired_figures, score_videos, set_figures
from laughvid.lifecycle.video_faces import stored_analyses, with_probs
from laughvid.lifecycle.video_fusion import FaceFeatures, cross_validated_probs, fit_on_all, fused_probs, record_features
from laughvid.pipeline.analyze import AnalysisParams, load_result
from laughvid.pipeline.faces.landmarks import FEATURES, GEOMETRY
from laughvid.pipeline.fusion import FusionModel, GeometryScorer, logit
from laughvid.pipeline.segments import SmoothingParams
from laughvid.store import open_store


def _features(args, labelled, classifier):
    """The recorded features and each clip's analysis (recorded now, or read back from DIR)."""
    stem = args.work / f"le{args.landmark_every}"
    store_path, table_path = stem.with_suffix(".sqlite"), stem.with_suffix(".npz")
    params = AnalysisParams(landmark_every=args.landmark_every, landmark_gate=0.0)
    if not table_path.is_file():
        if store_path.exists():
            sys.exit(f"{store_path} exists without {table_path}: an interrupted recording; delete {store_path} and run again")
        args.work.mkdir(parents=True, exist_ok=True)
        conn = open_store(store_path)
        faces, results = record_features(
            args.video_dir, labelled, conn, classifier, GeometryScorer.load(), params, lambda n: print(f"recording {n}", file=sys.stderr)
        )
        faces.save(table_path)
        return faces, results
    conn = open_store(store_path)
    ids = stored_analyses(conn, labelled)
    return FaceFeatures.load(table_path), [load_result(conn, ids[lab.name]) for lab in labelled]


def _logit_blendshapes(feats: np.ndarray) -> np.ndarray:
    """Blendshape scores (0..1, most near 0) as log-odds: a linear model then sees a smile's rise from 0.001 to 0.01."""
    out = feats.copy()
    cols = [i for i, n in enumerate(FEATURES) if n not in (*GEOMETRY, "presence")]
    out[:, cols] = logit(np.clip(out[:, cols], 1e-4, 1 - 1e-4))
    return out


def _scored(labelled, results, faces, probs):
    starts = np.cumsum([0] + [len(r.cache.times_s) for r in results])
    rebuilt = [with_probs(r, probs[a:b]) for r, a, b in zip(results, starts[:-1], starts[1:], strict=True)]
    return score_videos(list(zip(labelled, rebuilt, strict=True)), SmoothingParams())[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video_dir", type=Path)
    parser.add_argument("labels", type=Path)
    parser.add_argument("--work", type=Path, required=True, help="folder for the recorded analyses and features (never commit)")
    parser.add_argument("--model", type=Path, help="CNN model folder (default: the active model)")
    parser.add_argument("--landmark-every", type=int, default=AnalysisParams().landmark_every)
    parser.add_argument(
        "--variants", default="all,single,smile-cheek,logit", help="comma-separated: all, single, smile-cheek, logit (or none)"
    )
    parser.add_argument("--write", type=Path, help="fit on all clips and save fusion.json here")
    parser.add_argument("--version", default="fusion-v2")
    args = parser.parse_args(argv)
    labelled = load_labels(args.labels)
    classifier = load_classifier(args.model)
    faces, results = _features(args, labelled, classifier)
    faces.cnn_prob = classifier.score(faces.crops).astype(np.float64)  # the CNN of --model, whatever analysed
    v1 = FusionModel.load()
    print(
        f"{len(faces)} face rows, {len(labelled)} clips, {len(np.unique(faces.source))} sources; CNN {classifier.version}; "
        f"landmark_every={args.landmark_every}; with features {np.mean(~np.isnan(faces.feats).any(axis=1)):.3f}"
    )
    baseline = _scored(labelled, results, faces, fused_probs(v1.fused, faces.cnn_prob, faces.feats))
    print("fusion-v1 (the current product, landmark_gate 0):")
    for line in set_figures(baseline).lines():
        print(f"  {line}")
    cnn_only = _scored(labelled, results, faces, faces.cnn_prob)
    _report("CNN alone", cnn_only, baseline)
    wanted = args.variants.split(",")
    smile_cheek = [
        FEATURES.index(n) for n in ("mouthSmile", "cheekSquint", "eyeSquint", "jawOpen", "mouthStretch", "corner_lift", "mouth_width")
    ]
    logit_faces = dataclasses.replace(faces, feats=_logit_blendshapes(faces.feats))
    runs = []
    if "all" in wanted:
        runs.append(("all features", faces, dict()))
    if "single" in wanted:
        runs.append(("all features, trained on single-face frames", faces, dict(single_face_only=True)))
    if "smile-cheek" in wanted:
        runs.append(("7 features (smile, cheek/eye squint, jaw, stretch, corner lift, width)", faces, dict(columns=smile_cheek)))
    if "logit" in wanted:
        runs.append(("all features, blendshapes as log-odds (not in FusionModel yet)", logit_faces, dict()))
    for name, table, kwargs in runs:
        held = cross_validated_probs(table, **kwargs)
        coefs = np.array(list(held.cnn_coef.values()))
        print(f"L2 chosen: {sorted(set(held.l2.values()))}; CNN coefficient (standardised) {coefs.min():.2f}..{coefs.max():.2f}")
        _report(f"fusion on video faces, CV across sources: {name}", _scored(labelled, results, faces, held.probs), baseline)
    if args.write:
        trained_on = {
            "data": f"{len(labelled)} public video dev-set clips ({args.labels.name}), sources: {', '.join(sorted(set(faces.source)))}",
            "faces": int(np.sum(~np.isnan(faces.feats).any(axis=1) & (faces.label >= 0))),
            "cnn": classifier.version,
            "landmark_every": args.landmark_every,
        }
        model = fit_on_all(faces, args.version, v1, trained_on=trained_on, terms=v1.terms)
        print(
            f"wrote {model.save(args.write)}: CNN coefficient {model.fused.coef[0]:.2f}, features {dict(zip(FEATURES, np.round(model.fused.coef[1:], 2), strict=True))}"
        )
    return 0


def _report(title, rows, baseline) -> None:
    print(title + ":")
    for line in set_figures(rows).lines()[1:]:
        print(f"  {line}")
    print("  minus fusion-v1 (paired, same clips):")
    for line in paired_figures(rows, baseline).lines()[1:]:
        print(f"    {line}")


if __name__ == "__main__":
    sys.exit(main())
