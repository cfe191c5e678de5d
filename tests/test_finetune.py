"""Fine-tuning end to end on tiny generated data: lineage, frozen validation, gate, registry."""

from __future__ import annotations

import json
import re

import pytest

torch = pytest.importorskip("torch")

from loop_helpers import loop_db, write_set  # noqa: E402

from laughvid.lifecycle import registry  # noqa: E402
from laughvid.lifecycle.modelcard import ModelCard  # noqa: E402
from laughvid.pipeline.faces.crop import Framing  # noqa: E402
from laughvid.training.data import load_smile_folders  # noqa: E402
from laughvid.training.finetune import VALIDATION, FinetuneConfig, FinetuneError, finetune, load_replay  # noqa: E402
from laughvid.training.onnx_export import write_model_dir  # noqa: E402
from laughvid.training.pipeline import DataSource  # noqa: E402
from laughvid.training.train import TrainConfig, load_weights, train  # noqa: E402

PEOPLE = {f"p{i:02d}": (4, 4) for i in range(1, 9)}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A tiny parent model trained on 'public' cartoon faces, and that public set for replay."""
    root = tmp_path_factory.mktemp("ft")
    public = write_set(root / "public", {f"pub{i:02d}": (3, 3) for i in range(40)}, seed=5)
    items = load_smile_folders(public)
    config = TrainConfig(size=48, epochs=1, widths=(8, 16, 16, 16), batch_size=32, seed=0)
    result = train([it for it in items if it.split == "train"], [it for it in items if it.split != "train"], config, log=lambda _: None)
    card = ModelCard(
        version="", framing=Framing(size=48), calibration=result.calibration, threshold=result.threshold, training_sources=["custom"]
    )
    write_model_dir(result.net, card, root / "parent")
    return root


@pytest.fixture
def conn():
    return loop_db(finetune_consent=list(PEOPLE))


def test_finetune_writes_a_registered_model_with_lineage(world, conn, tmp_path):
    collected = write_set(tmp_path / "collected", {**PEOPLE, "stranger": (2, 2)}, seed=11)
    config = FinetuneConfig(epochs=1, min_replay=50, public_validation=60, public_test_max=60)
    replay = load_replay([DataSource("custom", world / "public")], log=lambda _: None)
    result = finetune([collected], tmp_path / "ft", conn, replay, parent=world / "parent", config=config, log=lambda _: None)

    card = json.loads((tmp_path / "ft" / "model_card.json").read_text())
    lineage = card["training"]["lineage"]
    assert card["version"] == result.version and result.version.startswith("smile-ft-")
    assert card["parent_version"] == result.parent == lineage["parent"]
    assert lineage["data_versions"] == [f"{result.sets[0].version}@{collected.resolve()}"]
    assert "stranger" not in lineage["participants"] and lineage["participants"]  # no consent: never trained
    assert any("User-supplied" in t for t in card["terms"])
    assert (tmp_path / "ft" / "model.onnx").exists()

    val_groups = set(result.sets[0].validation_split.groups)
    assert val_groups and not val_groups & set(lineage["participants"])  # frozen validation never trained
    assert set(result.before) == set(result.after) == {VALIDATION, "custom_test"}
    assert "Promotion gate" in result.report() and VALIDATION in result.report() and "95% interval" in result.report()
    assert card["gate"]["decision"].startswith("PROMOTE" if result.gate.promote else "KEEP")
    assert set(card["gate"]["sets"]) == {VALIDATION, "custom_test"}
    assert result.comparisons[VALIDATION].n == len(result.sets[0].validation)
    assert "## Promotion gate" in (tmp_path / "ft" / "MODEL_CARD.md").read_text()

    record = registry.get(conn, result.version)
    assert record.parent == result.parent and record.gate == list(result.gate.lines)
    assert registry.active_version(conn) == (result.version if result.promoted else result.parent)
    assert registry.models_trained_on(conn, sorted(lineage["participants"])[0]) == [result.version]

    again = finetune([collected], tmp_path / "ft2", conn, replay, parent=tmp_path / "ft", config=config, log=lambda _: None)
    child = registry.get(conn, again.version)
    assert child.parent == result.version and set(lineage["participants"]) <= set(child.participants)  # inherited
    with pytest.raises(FinetuneError, match="not empty"):
        finetune([collected], tmp_path / "ft", conn, replay, parent=world / "parent", config=config, log=lambda _: None)


@pytest.mark.parametrize("public", [0, 60])
def test_epoch_and_calibration_follow_the_collected_tuning_groups_alone_when_public_validation_is_0(world, conn, tmp_path, public):
    collected = write_set(tmp_path / "collected", PEOPLE, seed=11)
    config = FinetuneConfig(epochs=1, min_replay=50, public_validation=public, public_test_max=60)
    replay = load_replay([DataSource("custom", world / "public")], log=lambda _: None)
    lines = []
    result = finetune([collected], tmp_path / "ft", conn, replay, parent=world / "parent", config=config, log=lines.append)
    items = json.loads((tmp_path / "ft" / "model_card.json").read_text())["training"]["items"]
    own_tuning = len(result.sets[0].train) - items["collected_train"]  # the collected groups held out for tuning
    assert own_tuning > 0 and items["calibration"] == own_tuning + min(public, len(replay["validation"]))
    # What the log says each part is for, in the same numbers.
    (said,) = [line for line in lines if line.startswith("fine-tune: ")]
    assert f"trains on {items['collected_train']} collected faces" in said
    assert f"calibrates on {own_tuning} collected faces of whole people/videos kept out of training" in said
    assert f"+ {min(public, len(replay['validation']))} public validation images" in said
    assert f"the {len(result.sets[0].validation)} faces held back for testing" in said


def test_finetune_refuses_data_without_usable_training_crops(world, conn, tmp_path):
    only_strangers = write_set(tmp_path / "s", {"x1": (2, 2), "x2": (2, 2)})
    with pytest.raises(FinetuneError, match="no training crops after .* add reviewed crops of more people"):
        finetune([only_strangers], tmp_path / "ft", conn, None, parent=world / "parent", log=lambda _: None)


def test_no_replay_loads_nothing_and_logs_nothing():
    said = []
    assert load_replay([], log=said.append) == {"train": [], "validation": [], "test": []}
    assert said == [], "--no-replay logged 'replay dedup: input_items 0, ...'"


def test_active_and_named_models_are_what_the_classifier_loads(world, tmp_path, monkeypatch):
    monkeypatch.setenv("LAUGHVID_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LAUGHVID_STORE", raising=False)
    monkeypatch.delenv(registry.MODEL_ENV, raising=False)
    from laughvid.store import open_store

    conn = open_store()
    record = registry.ensure_registered(conn, world / "parent")
    assert registry.load_classifier(record.version).model_dir == world / "parent"  # --model VERSION
    assert registry.resolve_model_dir(None) == registry.DEFAULT_MODEL_DIR  # nothing active yet: the shipped model
    registry.activate(conn, record.version, "test")
    assert registry.load_classifier(None).version == record.version


def test_one_class_without_replay_is_refused(world, conn, tmp_path):
    only_negatives = write_set(tmp_path / "neg", {pid: (0, 3) for pid in PEOPLE})
    with pytest.raises(FinetuneError, match="both smiling and non-smiling"):
        finetune([only_negatives], tmp_path / "ft", conn, None, parent=world / "parent", log=lambda _: None)
    assert not (tmp_path / "ft").exists()


def test_finetune_command_end_to_end(world, tmp_path, monkeypatch, capsys):
    from laughvid.cli import EXIT_OK, main

    monkeypatch.setenv("LAUGHVID_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LAUGHVID_STORE", raising=False)
    monkeypatch.delenv(registry.MODEL_ENV, raising=False)
    collected = write_set(tmp_path / "collected", PEOPLE, consent={p: "" for p in PEOPLE}, seed=3)  # no refs: use default
    code = main(
        [
            "finetune",
            str(collected),
            "--out",
            str(tmp_path / "m"),
            "--model",
            str(world / "parent"),
            "--no-replay",
            "--consent-ref",
            "public:cartoons",
            "--epochs",
            "1",
            "--min-validation-groups",
            "2",
        ]
    )
    out = capsys.readouterr().out
    assert code == EXIT_OK
    assert "frozen_validation" in out and "Promotion gate" in out and ("PROMOTED" in out or "not promoted" in out)
    assert ">= 2 groups" in out  # the flag reaches the gate
    assert "{" not in out and not re.search(r"\d\.\d{5}", out)  # named figures, 4 decimals: no printed dicts
    assert re.search(r"^validation: n \d+, n_smile \d+, accuracy \d\.\d{4}, ", out, re.M)
    assert out.rstrip().endswith(f"every figure, unrounded, in {tmp_path / 'm' / 'model_card.json'}")
    assert main(["models", "list"]) == EXIT_OK
    listing = capsys.readouterr().out
    assert ModelCard.load(tmp_path / "m").version in listing and "smile-v1-" in listing


@pytest.mark.parametrize("trainable", ["head", "last"])
def test_frozen_layers_keep_their_weights_and_statistics(world, trainable):
    """Fine-tuning only the top leaves the frozen layers exactly as the parent had them (BatchNorm too)."""
    items = load_smile_folders(world / "public")
    parent = load_weights(world / "parent")
    config = TrainConfig(size=48, epochs=1, batch_size=32, trainable=trainable, seed=0, threads=1)
    net = train(items, items, config, init=parent, log=lambda _: None).net
    frozen = len(parent.features) - 2 if trainable == "last" else len(parent.features)
    before, after = parent.state_dict(), net.state_dict()
    for name, value in before.items():
        layer = int(name.split(".")[1]) if name.startswith("features.") else None
        if layer is not None and layer < frozen and value.is_floating_point():
            assert torch.equal(value, after[name]), name
    moved = [n for n in before if n.startswith("head.") or (n.startswith("features.") and int(n.split(".")[1]) >= frozen)]
    assert any(not torch.equal(before[n], after[n]) for n in moved)
