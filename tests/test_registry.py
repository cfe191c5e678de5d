"""Model registry: versions, active model, rollback, and the printed promotion gate."""

from __future__ import annotations

from pathlib import Path

import pytest
from loop_helpers import loop_db

from laughvid.lifecycle import registry
from laughvid.lifecycle.registry import GateRule, ModelRecord, RegistryError, promotion_gate


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


def _metrics(val_f1: float, pub_auc: float) -> dict:
    return {"val:ft-1": {"f1": val_f1, "roc_auc": 0.9}, "fer2013-test": {"f1": 0.8, "roc_auc": pub_auc}}


def test_gate_promotes_only_a_better_model_that_keeps_public_performance():
    current = _metrics(0.70, 0.950)
    cases = {
        (0.80, 0.940): True,  # better on collected data, public drop 0.010 <= 0.02
        (0.80, 0.920): False,  # forgot the public data
        (0.70, 0.960): False,  # not better on the frozen validation split
    }
    for (f1, auc), expected in cases.items():
        decision = promotion_gate(_metrics(f1, auc), current, ["val:ft-1"], ["fer2013-test"], GateRule(margin=0.02))
        assert decision.promote is expected
        text = str(decision)
        assert "val:ft-1" in text and "fer2013-test" in text and ("PROMOTE" if expected else "KEEP") in text
    assert "FAIL" in str(promotion_gate(_metrics(0.8, 0.92), current, ["val:ft-1"], ["fer2013-test"]))
    assert not promotion_gate(_metrics(0.8, 0.95), current, [], ["fer2013-test"]).promote
