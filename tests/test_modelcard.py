"""Model card: JSON round trip, terms, and citing a reference model's cross-data-set figures."""

from __future__ import annotations

import json

import pytest

from laughvid.lifecycle.modelcard import ModelCard
from laughvid.pipeline.faces.crop import Framing

METRICS = {"n": 10, "roc_auc": 0.97, "pr_auc": 0.9, "f1": 0.88, "balanced_accuracy": 0.9, "accuracy": 0.91}


def make_card(sources: list[str]) -> ModelCard:
    return ModelCard(
        version="smile-v1-abc",
        framing=Framing(),
        calibration=(1.5, -0.2),
        threshold=0.42,
        training_sources=sources,
        training={"command": "laughvid train ...", "seed": 0},
        metrics={"fer2013_test": dict(METRICS)},
    )


def test_round_trip_and_terms(tmp_path):
    card = make_card(["ckplus", "fer2013"])
    card.save(tmp_path)
    loaded = ModelCard.load(tmp_path)
    assert loaded.calibration == (1.5, -0.2) and loaded.framing == Framing() and loaded.threshold == 0.42
    saved = json.loads((tmp_path / "model_card.json").read_text())
    assert saved["non_commercial"] is True and any("CK+" in t for t in saved["terms"])
    markdown = (tmp_path / "MODEL_CARD.md").read_text()
    assert "NON-COMMERCIAL" in markdown and "| fer2013_test | 10 | 0.9700" in markdown
    assert make_card(["fer2013"]).non_commercial is False


def test_cite_reference_copies_only_held_out_sets():
    reference = make_card(["ckplus", "fer2013"])
    reference.version = "smile-v1-ref"
    reference.metrics["smilesmiled_all"] = dict(METRICS, roc_auc=0.95)
    card = make_card(["ckplus", "fer2013", "smilesmiled"])
    card.cite_reference(reference)
    assert card.metrics["smilesmiled_all [smile-v1-ref]"]["roc_auc"] == 0.95
    assert "fer2013_test [smile-v1-ref]" not in card.metrics
    assert "smile-v1-ref" in card.notes[0]


def test_broken_card_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing model card"):
        ModelCard.load(tmp_path)
    (tmp_path / "model_card.json").write_text('{"version": "x"}')
    with pytest.raises(ValueError, match="invalid model card"):
        ModelCard.load(tmp_path)
