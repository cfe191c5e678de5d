"""Model registry: versions, active model, rollback, and the printed promotion gate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from loop_helpers import loop_db

from laughvid.lifecycle import registry
from laughvid.lifecycle.registry import GateRule, ModelRecord, RegistryError, promotion_gate
from laughvid.training.metrics import PairedDifference, paired_bootstrap


@pytest.fixture
def conn():
    c = loop_db()
    for v in ("smile-v1", "smile-ft-1", "smile-ft-2"):
        registry.register(c, ModelRecord(v, f"/models/{v}", parent=None if v == "smile-v1" else "smile-v1"))
    return c


def test_activate_rollback_and_log(conn):
    assert registry.active_version(conn) is None
    registry.activate(conn, "smile-v1", "initial")
    registry.activate(conn, "smile-ft-1", "promoted")
    registry.activate(conn, "smile-ft-2", "promoted")
    assert registry.active_version(conn) == "smile-ft-2"
    assert registry.rollback(conn) == "smile-ft-1"
    assert registry.rollback(conn, "smile-v1") == "smile-v1"
    assert [r for _, _, r in registry.activation_log(conn)][-2:] == ["rollback", "rollback"]
    with pytest.raises(RegistryError, match="no model version"):
        registry.activate(conn, "nope", "x")


def test_rollback_needs_an_earlier_model(conn):
    registry.activate(conn, "smile-v1", "initial")
    with pytest.raises(RegistryError, match="nothing to roll back"):
        registry.rollback(conn)


def test_an_empty_registry_adopts_the_shipped_model_once(tmp_path):
    c = loop_db()
    assert registry.adopt_shipped_model(c, tmp_path / "no-model") is None  # nothing shipped: nothing to adopt
    if not (registry.DEFAULT_MODEL_DIR / "model.onnx").is_file():
        pytest.skip(f"needs the shipped model in {registry.DEFAULT_MODEL_DIR}")
    shipped = registry.adopt_shipped_model(c)
    assert [m.version for m in registry.list_models(c)] == [shipped] and registry.active_version(c) == shipped
    assert registry.rollback_target(c) is None
    registry.register(c, ModelRecord("smile-ft-1", "/models/smile-ft-1", parent=shipped))
    registry.activate(c, "smile-ft-1", "promoted")
    assert registry.adopt_shipped_model(c) == "smile-ft-1"  # an active model is never replaced
    assert registry.rollback_target(c) == shipped  # a first fine-tune can be rolled back to the shipped model


def test_register_merges_metrics_and_refuses_a_second_path(conn):
    registry.register(conn, ModelRecord("smile-v1", "/models/smile-v1", metrics={"fer": {"f1": 0.8}}))
    registry.register(conn, ModelRecord("smile-v1", "/models/smile-v1", metrics={"ck": {"f1": 0.9}}))
    assert set(registry.get(conn, "smile-v1").metrics) == {"fer", "ck"}
    with pytest.raises(RegistryError, match="already registered"):
        registry.register(conn, ModelRecord("smile-v1", "/elsewhere"))


def test_resolve_model_dir_order(conn, tmp_path, monkeypatch):
    monkeypatch.delenv(registry.MODEL_ENV, raising=False)
    assert registry.resolve_model_dir(None, conn) == registry.DEFAULT_MODEL_DIR
    (tmp_path / "ft1").mkdir()
    registry.register(conn, ModelRecord("smile-ft-3", str(tmp_path / "ft1")))
    registry.activate(conn, "smile-ft-3", "promoted")
    assert registry.resolve_model_dir(None, conn) == tmp_path / "ft1"
    assert str(registry.resolve_model_dir("smile-ft-2", conn)) == "/models/smile-ft-2"
    monkeypatch.setenv(registry.MODEL_ENV, str(tmp_path))
    assert registry.resolve_model_dir(None, conn) == tmp_path
    assert registry.resolve_model_dir("smile-v9", conn) == Path("smile-v9")  # the loader says it is missing
    monkeypatch.delenv(registry.MODEL_ENV)
    registry.activate(conn, "smile-ft-1", "promoted")  # its folder is gone
    with pytest.raises(RegistryError, match="missing"):
        registry.resolve_model_dir(None, conn)


def test_no_store_means_the_shipped_model(tmp_path, monkeypatch):
    monkeypatch.setenv("LAUGHVID_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LAUGHVID_STORE", raising=False)
    monkeypatch.delenv(registry.MODEL_ENV, raising=False)
    assert registry.resolve_model_dir(None) == registry.DEFAULT_MODEL_DIR
    assert not (tmp_path / "home").exists()  # loading a model does not create a store


def _change(before: float, low: float, high: float) -> PairedDifference:
    return PairedDifference("roc_auc", before, before + (low + high) / 2, low, high, 0.95, 500, 500, 2000)


def test_gate_promotes_only_a_gain_it_is_confident_of_without_a_public_drop():
    cases = {
        ((0.010, 0.050), (-0.004, 0.003)): True,  # surely better; a public drop > 0.005 is ruled out
        ((-0.004, 0.030), (-0.002, 0.002)): False,  # better on average, but could be luck
        ((0.010, 0.050), (-0.012, 0.001)): False,  # may have lost more than 0.005 on the public set
    }
    for (val, pub), expected in cases.items():
        comparisons = {"frozen_validation": _change(0.90, *val), "fer2013_test": _change(0.95, *pub)}
        decision = promotion_gate(comparisons, ["frozen_validation"], ["fer2013_test"], GateRule(), names=("smile-ft-new", "smile-v1"))
        assert decision.promote is expected
        text = str(decision)
        assert "95% interval" in text and f"[{val[0]:+.4f}, {val[1]:+.4f}]" in text
        assert ("PROMOTE smile-ft-new" if expected else "KEEP smile-v1") in text and ("FAIL" in text) is not expected
        assert decision.details["sets"]["fer2013_test"]["low"] == pub[0] and decision.details["rule"]["margin"] == 0.005
    assert not promotion_gate({"fer2013_test": _change(0.95, 0, 0)}, [], ["fer2013_test"]).promote


def test_a_kept_but_promising_candidate_is_called_inconclusive_with_the_split_size_that_would_settle_it():
    """The Phase 2 simulation's 1,000-face fine-tune: +0.0097 on 12,153 held-out faces, but its 250-face frozen
    split read +0.0039 [-0.0018, +0.0104] (docs/model.md). Reach below the change 0.0057 / gain 0.0039 -> ~2.14x the faces."""
    frozen = PairedDifference("roc_auc", 0.9568, 0.9607, -0.0018, 0.0104, 0.95, 250, 250, 2000)
    text = str(promotion_gate({"frozen_validation": frozen, "fer": _change(0.95, -0.002, 0.002)}, ["frozen_validation"], ["fer"]))
    assert "KEEP" in text and "inconclusive: +0.0039 on 250 faces (250 groups)" in text
    assert "about 535 faces (535 groups) would tell a gain this size from luck" in text
    assert "laughvid finetune SET NEW_SET" in text
    worse = PairedDifference("roc_auc", 0.9568, 0.9550, -0.0080, 0.0040, 0.95, 250, 250, 2000)
    sure = PairedDifference("roc_auc", 0.90, 0.95, 0.010, 0.090, 0.95, 250, 250, 2000)
    assert "inconclusive" not in str(promotion_gate({"frozen_validation": worse}, ["frozen_validation"], []))  # no gain to settle
    assert "inconclusive" not in str(promotion_gate({"frozen_validation": sure}, ["frozen_validation"], []))  # promoted


def test_gate_decides_right_on_known_differences_in_generated_scores():
    """End to end on generated scores: a clearly better candidate that ranks the public faces as before
    is promoted; the same candidate with a public ROC-AUC loss of ~0.02 is kept out."""
    rng = np.random.default_rng(0)
    val_labels = rng.random(400) < 0.3
    val_old = val_labels * 1.0 + rng.normal(0, 1, 400)
    val_new = val_old + val_labels * 1.0
    pub_labels = rng.random(3000) < 0.25
    pub_old = pub_labels * 2.5 + rng.normal(0, 1, 3000)
    worse = pub_old - pub_labels * 0.25  # loses about 0.02 ROC-AUC
    validation = paired_bootstrap(val_labels, val_old, val_new, resamples=500)
    kept_public = paired_bootstrap(pub_labels, pub_old, pub_old.copy(), resamples=500)
    lost_public = paired_bootstrap(pub_labels, pub_old, worse, resamples=500)
    assert -0.03 < lost_public.change < -0.01
    good = promotion_gate({"val": validation, "pub": kept_public}, ["val"], ["pub"])
    forgetful = promotion_gate({"val": validation, "pub": lost_public}, ["val"], ["pub"])
    assert good.promote and not forgetful.promote


def test_gate_refuses_a_confident_gain_from_too_few_validation_groups():
    """An interval from 8 clips looked sure (+0.036 [+0.0005, +0.065]) and the promoted model then lost on
    52 held-out clips (docs/finetune.md): below `min_groups` people/videos the gate keeps the parent."""

    def validation(groups: int) -> PairedDifference:
        return PairedDifference("roc_auc", 0.783, 0.819, 0.0005, 0.065, 0.95, 281, groups, 2000)

    public = _change(0.95, -0.002, 0.002)
    few = promotion_gate({"val": validation(8), "pub": public}, ["val"], ["pub"])
    enough = promotion_gate({"val": validation(20), "pub": public}, ["val"], ["pub"])
    lowered = promotion_gate({"val": validation(8), "pub": public}, ["val"], ["pub"], GateRule(min_groups=8))
    assert not few.promote and enough.promote and lowered.promote
    assert "KEEP active" in str(few) and "fewer than 20 people/videos" in str(few)
    assert "fewer than" not in str(enough) and few.details["rule"]["min_groups"] == 20
