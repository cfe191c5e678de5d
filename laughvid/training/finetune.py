"""Fine-tuning: adapt the current smile model to collected, consented data without forgetting.

It is a preset of the one training path: `training.train.train`, the loop `laughvid train` runs, with
the parent's weights as `init`, a replay mix, a lower learning rate and fewer epochs (`FinetuneConfig`).

Why each step:
- start from the current model's weights, with a lower learning rate and few epochs: the collected
  data is small, the pretrained features are good;
- replay a sample of the pretraining data in every epoch (about as many items as the new data):
  without it a small, homogeneous set (a few people, one room) drags the model away from everyone else;
- calibration and epoch selection use public validation items plus a few collected training groups
  held out for that purpose, never the frozen validation split: the gate must judge on data
  nothing was tuned on;
- parent and candidate are evaluated on the same sets in the same run (frozen validation split of the
  collected data, public test splits), and the registry's gate decides whether to promote.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from laughvid.errors import FinetuneError
from laughvid.lifecycle import registry
from laughvid.lifecycle.modelcard import ModelCard
from laughvid.lifecycle.set_versions import CollectedItem, PreparedSet, prepare
from laughvid.pipeline.faces.detector import FaceDetector
from laughvid.pipeline.scoring import SmileClassifier
from laughvid.training import data
from laughvid.training.evaluate import face_input
from laughvid.training.metrics import PairedDifference, binary_metrics, paired_bootstrap
from laughvid.training.onnx_export import write_model_dir
from laughvid.training.pipeline import DataSource, load_sources
from laughvid.training.train import TrainConfig, load_weights, train

VALIDATION = "frozen_validation"


@dataclass(frozen=True)
class FinetuneConfig:
    epochs: int = 8
    lr: float = 1e-3  # pretraining uses 3e-3: stay near the parent
    trainable: str = "all"  # all | last | head (see TrainConfig.trainable)
    backbone_lr: float = 1.0  # learning rate below the head, as a share of `lr`
    ema_decay: float = 0.998  # used when ema_share is 0
    # Weight average over about the last 10 % of the steps. The old fixed 0.998 over a fine-tune's ~100
    # steps left the result ~85 % parent: measured, it moved FER2013 ROC-AUC by < 0.0002 (docs/finetune.md).
    ema_share: float = 0.1
    replay_ratio: float = 2.0  # replayed pretraining items per collected training item: best of 0.5/1/2 measured
    # Epochs of equal smile / non-smile counts (TrainConfig.balanced). Every item once per epoch gained more on
    # SMILEsmileD faces new to the base (+0.0120 vs +0.0085 held-out ROC-AUC, 3 draws) but lost on video faces
    # (-0.008 on both source folds' held-out faces vs about 0): docs/finetune.md
    balanced: bool = True
    min_replay: int = 256
    tuning_groups: float = 0.2  # share of collected training groups kept for calibration (>= 3 groups)
    # Public validation items used for calibration / epoch choice beside the collected tuning groups;
    # 0 = none: the epoch and threshold then follow the collected faces alone
    public_validation: int = 800
    public_test_max: int = 4000  # items per public test split (stratified sample; 0 = all)
    faces: str = "auto"  # how images become face inputs (see training.evaluate.face_input)
    seed: int = 0
    threads: int = 2
    gate: registry.GateRule = field(default_factory=registry.GateRule)


@dataclass
class FinetuneResult:
    model_dir: Path
    version: str
    parent: str
    sets: list[PreparedSet]
    before: dict[str, dict[str, float]]
    after: dict[str, dict[str, float]]
    comparisons: dict[str, PairedDifference]  # paired bootstrap of the ROC-AUC change, per evaluation set
    gate: registry.GateDecision
    promoted: bool
    seconds: float

    def report(self) -> str:
        """Before/after table for every evaluation set, then the gate."""
        lines = [
            f"{'set':<28} {'n':>6}  {'F1 before':>9} {'after':>6}  {'ROC-AUC before':>14} {'after':>6}  {'PR-AUC before':>13} {'after':>6}"
        ]
        for name, b in self.before.items():
            a = self.after[name]
            lines.append(
                f"{name:<28} {b['n']:>6}  {b['f1']:>9.3f} {a['f1']:>6.3f}  {b['roc_auc']:>14.3f} "
                f"{a['roc_auc']:>6.3f}  {b['pr_auc']:>13.3f} {a['pr_auc']:>6.3f}"
            )
        return "\n".join(lines + ["", str(self.gate)])


def _stratified_sample(items: list[data.ImageItem], n: int, rng: np.random.Generator) -> list[data.ImageItem]:
    """`n` items keeping the class balance (all of them if there are fewer)."""
    if n <= 0 or n >= len(items):
        return list(items)
    labels = np.array([it.smile for it in items])
    picked = []
    for cls in (0, 1):
        idx = np.flatnonzero(labels == cls)
        take = int(round(n * len(idx) / len(items)))
        picked += list(rng.choice(idx, size=min(take, len(idx)), replace=False))
    return [items[i] for i in sorted(picked)]


def load_replay(sources: list[DataSource], log: Callable[[str], None] = print) -> dict[str, list[data.ImageItem]]:
    """Pretraining data, deduplicated, by split (train / validation / test). None (`--no-replay`): empty
    splits, and no 'replay dedup: input_items 0, ...' line in the log."""
    if not sources:
        return {name: [] for name in data.SPLITS}
    return load_sources(sources, log, prefix="replay ")[0]


def face_items(collected: list[CollectedItem], classifier: SmileClassifier, mode: str) -> tuple[list[data.ImageItem], list[str]]:
    """Collected crops or photos as model-ready items (grey pixels framed as in training); photos
    are reduced to their largest face as `eval-images` does. Returns (items, problems)."""
    detector = FaceDetector() if mode != "crops" else None
    items, problems = [], []
    for c in collected:
        bgr = cv2.imread(c.item.path, cv2.IMREAD_COLOR)
        if bgr is None:
            problems.append(f"{c.item.path}: unreadable image, skipped")
            continue
        face, how = face_input(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), classifier, detector, mode)
        if face is None:
            problems.append(f"{c.item.path}: no face found, skipped")
            continue
        items.append(replace(c.item, pixels=face, source="custom"))
    return items, problems


def _tuning_split(items: list[data.ImageItem], share: float) -> tuple[list[data.ImageItem], list[data.ImageItem]]:
    """(train, tuning): whole groups in hash order for tuning when there are at least 3 groups."""
    groups = sorted({it.group for it in items}, key=lambda g: hashlib.sha1(g.encode()).hexdigest())
    n_tune = int(len(groups) * share) if len(groups) >= 3 else 0
    tune = set(groups[:n_tune])
    return [it for it in items if it.group not in tune], [it for it in items if it.group in tune]


def evaluation_sets(
    validation: list[data.ImageItem], replay: dict[str, list[data.ImageItem]], max_items: int, rng: np.random.Generator
) -> dict[str, list[data.ImageItem]]:
    """The frozen validation split plus each public source's test split (sampled to `max_items`)."""
    sets = {VALIDATION: validation}
    for kind in sorted({it.source for it in replay.get("test", [])}):
        sets[f"{kind}_test"] = _stratified_sample([it for it in replay["test"] if it.source == kind], max_items, rng)
    return sets


def compare_models(
    parent: SmileClassifier, candidate: SmileClassifier, eval_sets: dict[str, list[data.ImageItem]], rule: registry.GateRule, seed: int = 0
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]], dict[str, PairedDifference]]:
    """(before, after, comparisons): each model's metrics at its own threshold, and the paired
    bootstrap of the ROC-AUC change resampling whole groups (a person's crops move together)."""
    before, after, comparisons = {}, {}, {}
    for name, items in eval_sets.items():
        images, labels = data.load_arrays(items, parent.input_size)
        old, new = parent.score(images), candidate.score(images)
        before[name] = binary_metrics(labels, old, parent.threshold)
        after[name] = binary_metrics(labels, new, candidate.threshold)
        comparisons[name] = paired_bootstrap(
            labels, old, new, groups=[it.group for it in items], resamples=rule.resamples, level=rule.level, seed=seed
        )
    return before, after, comparisons


def finetune(
    data_dirs: list[str | Path],
    out_dir: str | Path,
    conn: sqlite3.Connection,
    replay: dict[str, list[data.ImageItem]] | None,
    parent: str | Path | None = None,
    config: FinetuneConfig = FinetuneConfig(),
    default_consent_ref: str = "",
    promote: bool = True,
    command: str = "",
    log: Callable[[str], None] = print,
) -> FinetuneResult:
    """Fine-tune the current (or `parent`) model on the fine-tune sets in `data_dirs`, write a model
    directory to `out_dir`, register it, and promote it if it passes the gate (and `promote`)."""
    started = time.time()
    if Path(out_dir).exists() and any(Path(out_dir).iterdir()):
        raise FinetuneError(f"{out_dir} is not empty: write each model to a new directory (models are never overwritten)")
    rng = np.random.default_rng(config.seed)
    parent_dir = registry.resolve_model_dir(parent, conn)
    parent_model = SmileClassifier.load(parent_dir)
    parent_record = registry.ensure_registered(conn, parent_dir)
    if registry.active_version(conn) is None:
        registry.activate(conn, parent_record.version, reason="baseline (first fine-tune)")
    size = parent_model.input_size

    sets = [prepare(d, conn, default_consent_ref) for d in data_dirs]
    for s in sets:
        log(s.summary())
    new_train, problems = face_items([c for s in sets for c in s.train], parent_model, config.faces)
    validation, val_problems = face_items([c for s in sets for c in s.validation], parent_model, config.faces)
    for p in problems + val_problems:
        log(f"  {p}")
    if not new_train:
        raise FinetuneError(
            "the fine-tune sets leave no training crops after the frozen validation split and consent checks (see the summaries above): "
            "add reviewed crops of more people (each person's crops all go either to training or to the held-back test faces), "
            "linked to participants who consented to finetune"
        )
    if not validation:
        raise FinetuneError("the frozen validation split is empty: nothing to judge the new model on")
    new_train, tuning = _tuning_split(new_train, config.tuning_groups)
    own_tuning = len(tuning)

    replay = replay or {name: [] for name in data.SPLITS}
    n_replay = max(config.min_replay, int(config.replay_ratio * len(new_train))) if replay["train"] else 0
    replayed = _stratified_sample(replay["train"], n_replay, rng)
    if config.public_validation > 0:
        tuning += _stratified_sample(replay["validation"], config.public_validation, rng)
    if len({it.smile for it in new_train + replayed}) < 2 or len({it.smile for it in tuning}) < 2:
        raise FinetuneError(
            "training and calibration need both smiling and non-smiling faces: give replay data "
            "(--fer2013 ...) or collected crops of both classes"
        )
    # A few labelled crops would drown in the replay: repeat them (augmentation varies every copy).
    repeats = max(1, round(len(replayed) / (config.replay_ratio * len(new_train)))) if replayed else 1
    log(
        f"fine-tune: trains on {len(new_train)} collected faces (each x{repeats}) + {len(replayed)} replayed public images; "
        f"calibrates on {own_tuning} collected faces of whole people/videos kept out of training + {len(tuning) - own_tuning} "
        f"public validation images; the gate compares on the {len(validation)} faces held back for testing"
    )

    train_config = TrainConfig(
        size=size,
        epochs=config.epochs,
        lr=config.lr,
        trainable=config.trainable,
        backbone_lr=config.backbone_lr,
        ema_decay=config.ema_decay,
        ema_share=config.ema_share,
        balanced=config.balanced,
        warmup_epochs=0.5,
        seed=config.seed,
        threads=config.threads,
        batch_size=64,
    )
    result = train(new_train * repeats + replayed, tuning, train_config, init=load_weights(parent_dir), log=log)

    # Whose faces shaped this model: this set's people (training and calibration groups) and the parent's.
    participants = sorted(
        {c.consent_ref for s in sets for c in s.train if not c.consent_ref.startswith("public:")} | set(parent_record.participants)
    )
    data_versions = [f"{s.version}@{s.root.resolve()}" for s in sets]
    card = ModelCard(
        version="",
        framing=parent_model.card.framing,
        calibration=result.calibration,
        threshold=result.threshold,
        created_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        parent_version=parent_model.version,
        training_sources=sorted(set(parent_model.card.training_sources) | {"custom"}),
        training={
            "command": command,
            "kind": "fine-tune",
            "config": {**train_config.as_dict(), "replay_ratio": config.replay_ratio, "tuning_groups": config.tuning_groups},
            "items": {
                "collected_train": len(new_train),
                "collected_repeats": repeats,
                "replayed": len(replayed),
                "calibration": len(tuning),
                "frozen_validation": len(validation),
            },
            "seconds": round(result.seconds, 1),
            "lineage": {
                "parent": parent_model.version,
                "data_versions": data_versions,
                "frozen_validation": {str(s.root.resolve()): s.validation_split.frozen_at_version for s in sets},
                "participants": participants,
                "replay_sources": sorted({it.source for it in replayed}),
            },
        },
        notes=[
            f"Fine-tuned from {parent_model.version} on consented collected data ({', '.join(data_versions)}) "
            "with replay of its pretraining data."
        ],
    )
    card = write_model_dir(result.net, card, out_dir, version_prefix="smile-ft")
    candidate = SmileClassifier.load(out_dir)

    eval_sets = evaluation_sets(validation, replay, config.public_test_max, rng)
    before, after, comparisons = compare_models(parent_model, candidate, eval_sets, config.gate, config.seed)
    public = [name for name in eval_sets if name != VALIDATION]
    gate = registry.promotion_gate(comparisons, [VALIDATION], public, config.gate, names=(card.version, parent_model.version))
    card.metrics = after
    card.gate = gate.details
    card.save(out_dir)
    registry.register(
        conn,
        registry.ModelRecord(
            card.version,
            str(Path(out_dir).resolve()),
            parent=parent_model.version,
            metrics=after,
            data_versions=data_versions,
            participants=participants,
            gate=list(gate.lines),
        ),
    )
    registry.register(conn, replace(parent_record, metrics=before))
    promoted = gate.promote and promote
    if promoted:
        registry.activate(conn, card.version, reason="promoted by gate")
    return FinetuneResult(
        Path(out_dir), card.version, parent_model.version, sets, before, after, comparisons, gate, promoted, time.time() - started
    )
