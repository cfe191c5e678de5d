"""Pretraining end to end: load data sources, deduplicate, train, export, evaluate, write the card.
`laughvid train` is a thin layer over `build_model`."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from laughvid.lifecycle.modelcard import ModelCard
from laughvid.pipeline.faces.crop import Framing
from laughvid.pipeline.scoring import SmileClassifier
from laughvid.training import data
from laughvid.training.evaluate import evaluate
from laughvid.training.metrics import figures_text
from laughvid.training.onnx_export import write_model_dir
from laughvid.training.train import TrainConfig, load_weights, train

SOURCE_KINDS = ("fer2013", "smilesmiled", "ckplus", "affectnet", "custom")


@dataclass(frozen=True)
class DataSource:
    """One data set on disk. `test_only` sources are never trained on: all their items form an
    evaluation set (the cross-data-set check). `images_root` is for AffectNet's annotation CSV."""

    kind: str
    path: Path
    test_only: bool = False
    images_root: Path | None = None

    def load(self) -> list[data.ImageItem]:
        path = self.path
        if not path.exists():
            raise FileNotFoundError(f"{self.kind}: {path} does not exist")
        if self.kind == "fer2013":
            return data.load_fer_csv(path) if path.is_file() else data.load_fer_folders(path)
        if self.kind == "smilesmiled":
            return data.load_smilesmiled(path)
        if self.kind == "ckplus":
            return data.load_ckplus(path)
        if self.kind == "affectnet":
            if path.is_file():
                if self.images_root is None:
                    raise ValueError(f"{path}: the AffectNet annotation CSV needs the images folder too")
                return data.load_affectnet_csv(path, self.images_root)
            return data.load_affectnet_folders(path)
        if self.kind == "custom":
            return data.load_smile_folders(path)
        raise ValueError(f"unknown data source kind {self.kind!r} (one of {', '.join(SOURCE_KINDS)})")


def load_sources(
    sources: Sequence[DataSource], log: Callable[[str], None] = print, prefix: str = ""
) -> tuple[dict[str, list[data.ImageItem]], dict[str, int]]:
    """Load the sources, deduplicate across them (one photo in two data sets must not sit in both train
    and test), and group by split (train / validation / test); returns the splits and the dedup report."""
    items = []
    for source in sources:
        loaded = source.load()
        log(f"{prefix}{source.kind}: {len(loaded)} items from {source.path}")
        items += loaded
    items, report = data.deduplicate(items)
    log(f"{prefix}dedup: {figures_text(report.as_dict())}")
    return {name: [it for it in items if it.split == name] for name in data.SPLITS}, report.as_dict()


def build_model(
    sources: list[DataSource],
    out_dir: str | Path,
    config: TrainConfig | None = None,
    init_model_dir: str | Path | None = None,
    framing: Framing | None = None,
    reference_model_dir: str | Path | None = None,
    command: str = "",
    log: Callable[[str], None] = print,
) -> ModelCard:
    """Train on the train splits of the non-test-only sources, export to `out_dir`, and record
    metrics on every source's test split (and on all of each test-only source) in the card.
    `reference_model_dir`: a model of the same recipe trained without some source, whose figures
    on that source the card cites (see `ModelCard.cite_reference`)."""
    config = config or TrainConfig()
    framing = framing or Framing(size=config.size)
    if framing.size != config.size or not framing.grey:
        raise ValueError("the model takes grey crops of config.size pixels; framing must match")
    trained = [s for s in sources if not s.test_only]
    if not trained:
        raise ValueError("no training source (every source is test-only)")
    splits, dedup = load_sources(trained, log)
    reports = {"training_sources": dedup}

    init = load_weights(init_model_dir) if init_model_dir else None
    parent = ModelCard.load(init_model_dir) if init_model_dir else None
    result = train(splits["train"], splits["validation"], config, init=init, log=log)

    card = ModelCard(
        version="",
        framing=framing,
        calibration=result.calibration,
        threshold=result.threshold,
        created_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        parent_version=parent.version if parent else None,
        training_sources=sorted({it.source for split in splits.values() for it in split}),
        training={
            "command": command,
            **({"parent_command": parent.training.get("command", "")} if parent else {}),
            "seed": config.seed,
            "config": config.as_dict(),
            "items": {name: len(split) for name, split in splits.items()},
            "smile_items": {name: sum(it.smile for it in split) for name, split in splits.items()},
            "seconds": round(result.seconds, 1),
            "epochs_history": [{k: round(v, 4) for k, v in h.items()} for h in result.history],
        },
        dedup=reports,
    )
    card = write_model_dir(result.net, card, out_dir)

    classifier = SmileClassifier.load(out_dir)
    card.metrics["validation"] = evaluate(classifier, splits["validation"])
    for kind in sorted({it.source for it in splits["test"]}):
        card.metrics[f"{kind}_test"] = evaluate(classifier, [it for it in splits["test"] if it.source == kind])
    for source in sources:
        if source.test_only:
            held_out, report = data.deduplicate(source.load())
            reports[f"{source.kind}_all"] = report.as_dict()
            card.metrics[f"{source.kind}_all"] = evaluate(classifier, held_out)
    if reference_model_dir:
        card.cite_reference(ModelCard.load(reference_model_dir))
    for name, metrics in card.metrics.items():
        log(f"{name}: {figures_text(metrics)}")
    card.save(out_dir)
    return card
