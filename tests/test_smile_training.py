"""Training -> ONNX export -> SmileClassifier on a tiny generated data set: the exported model
matches torch, training is seeded, `laughvid train` writes a complete model directory."""

from __future__ import annotations

import dataclasses
import json
import re

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs the 'train' extra")

from laughvid.cli import main  # noqa: E402
from laughvid.lifecycle.modelcard import ModelCard  # noqa: E402
from laughvid.pipeline.scoring import SmileClassifier  # noqa: E402
from laughvid.training.data import load_smile_folders  # noqa: E402
from laughvid.training.train import TrainConfig, load_weights, predict_logits, train  # noqa: E402


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    """Faces-like blobs: 'smile' images have a bright curved mouth, 'non_smile' a dark straight one."""
    root = tmp_path_factory.mktemp("tiny")
    rng = np.random.default_rng(1)
    for label in ("smile", "non_smile"):
        (root / label).mkdir()
        for i in range(60):
            image = rng.integers(60, 120, (48, 48), np.uint8)
            if label == "smile":
                cv2.ellipse(image, (24, 30), (12, 6), 0, 0, 180, 250, 3)
            else:
                cv2.line(image, (14, 34), (34, 34), 10, 3)
            cv2.imwrite(str(root / label / f"{label}{i}.png"), image)
    return root


def assert_readable_figures(printed: str, model_dir):
    """Training prints named figures to 4 decimals (it printed Python dicts with 16-digit floats) and
    says where the exact ones are for scripts."""
    assert "{" not in printed and not re.search(r"\d\.\d{5}", printed), printed
    assert re.search(r"^(replay )?dedup: input_items \d+, exact_duplicates \d+, ", printed, re.M)
    assert re.search(r"^validation: n \d+, n_smile \d+, accuracy \d\.\d{4}, ", printed, re.M)
    assert printed.rstrip().endswith(f"every figure, unrounded, in {model_dir / 'model_card.json'}")


def test_train_is_seeded(tiny_set):
    items = load_smile_folders(tiny_set)
    config = TrainConfig(epochs=1, batch_size=32, threads=1)
    a = train(items[::2], items[1::2], config, log=lambda _: None)
    b = train(items[::2], items[1::2], config, log=lambda _: None)
    for key, value in a.net.state_dict().items():
        assert torch.equal(value, b.net.state_dict()[key]), key
    assert a.threshold == b.threshold


def test_cli_train_writes_model_dir_and_onnx_matches_torch(tiny_set, tmp_path, capsys):
    out = tmp_path / "model"
    code = main(["train", "--custom", str(tiny_set), "--out", str(out), "--epochs", "3", "--threads", "1"])
    assert code == 0
    assert_readable_figures(capsys.readouterr().out, out)
    assert {p.name for p in out.iterdir()} >= {"model.onnx", "weights.pt", "model_card.json", "MODEL_CARD.md"}
    card = json.loads((out / "model_card.json").read_text())
    assert card["training_sources"] == ["custom"] and card["version"].startswith("smile-v1-")
    assert set(card["metrics"]) >= {"validation", "custom_test"}
    assert 0.0 < card["threshold"] < 1.0 and card["framing"]["size"] == 48

    classifier = SmileClassifier.load(out)
    crops = np.random.default_rng(2).integers(0, 256, (70, 48, 48), np.uint8)  # > one ONNX batch
    onnx_logits = classifier.logits(crops)
    torch_logits = predict_logits(load_weights(out), crops)
    assert np.abs(onnx_logits - torch_logits).max() < 1e-4
    probs = classifier.score(crops)
    assert probs.shape == (70,) and np.all((probs >= 0) & (probs <= 1))
    assert ModelCard.load(out).version == classifier.version

    child = tmp_path / "child"
    assert (
        main(
            ["train", "--custom", str(tiny_set), "--init", str(out), "--out", str(child), "--epochs", "1", "--threads", "1", "--seed", "1"]
        )
        == 0
    )
    child_card = ModelCard.load(child)
    assert child_card.parent_version == classifier.version
    assert child_card.training["parent_command"] == card["training"]["command"]
    assert card["training"]["command"].startswith("laughvid train --custom ")


def test_cli_train_usage_errors(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "m")]) == 2
    assert "at least one data set" in capsys.readouterr().err
    assert main(["train", "--custom", str(tmp_path / "nowhere"), "--out", str(tmp_path / "m")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_repeat_lists_a_sources_items_that_many_times(tiny_set):
    from laughvid.training.train import repeat_index

    items = load_smile_folders(tiny_set)[:4]
    other = [dataclasses.replace(it, source="smilesmiled") for it in items[:2]]
    assert repeat_index(items + other, {"smilesmiled": 3}).tolist() == [0, 1, 2, 3, 4, 4, 4, 5, 5, 5]
    assert repeat_index(items, {}).tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="at least 1"):
        repeat_index(items, {"custom": 0})


def test_cli_train_repeat_is_checked_and_recorded(tiny_set, tmp_path, capsys):
    out = tmp_path / "m"
    assert main(["train", "--custom", str(tiny_set), "--out", str(out), "--repeat", "smilesmiled=2"]) == 2
    assert "SOURCE=N" in capsys.readouterr().err and not out.exists()
    assert main(["train", "--custom", str(tiny_set), "--out", str(out), "--repeat", "custom=x"]) == 2
    assert main(["train", "--custom", str(tiny_set), "--out", str(out), "--epochs", "1", "--threads", "1", "--repeat", "custom=2"]) == 0
    card = ModelCard.load(out)
    assert card.training["config"]["repeat"] == {"custom": 2}
    assert "--repeat custom=2" in card.training["command"]
    assert card.training["items"]["train"] < len(load_smile_folders(tiny_set))  # the split itself is not inflated


def test_balanced_epochs_use_every_majority_item_before_repeating():
    from laughvid.training.train import BalancedEpochs

    labels = np.array([1] * 3 + [0] * 10)
    sampler = BalancedEpochs(labels, np.random.default_rng(0))
    epochs = [sampler.next_epoch() for _ in range(3)]
    assert all(len(e) == 6 and labels[e].sum() == 3 for e in epochs)
    negatives = np.concatenate([e[labels[e] == 0] for e in epochs])
    assert len(set(negatives[:9].tolist())) == 9  # 9 distinct negatives before any repeat


def test_expression_labels_train_an_auxiliary_head_that_onnx_leaves_out(tiny_set, tmp_path):
    """FER-style folders name the expression: training adds an expression head to the torch net,
    while the exported graph still has one output, the smile logit, equal to torch's."""
    fer = tmp_path / "fer"
    for part, split in enumerate(("train", "validation", "test")):  # distinct images: dedup drops leaks
        for label, emotions in (("smile", ("happy",)), ("non_smile", ("neutral", "surprise"))):
            for i, path in enumerate(sorted((tiny_set / label).iterdir())[part * 20 : part * 20 + 20]):
                (fer / split / emotions[i % len(emotions)]).mkdir(parents=True, exist_ok=True)
                (fer / split / emotions[i % len(emotions)] / f"{split}{path.name}").write_bytes(path.read_bytes())
    out = tmp_path / "aux"
    assert (
        main(["train", "--fer2013", str(fer), "--out", str(out), "--epochs", "1", "--threads", "1", "--widths", "8", "16", "24", "32"]) == 0
    )
    net = load_weights(out)
    assert net.config == {"widths": [8, 16, 24, 32], "dropout": 0.3, "emotions": 8}
    classifier = SmileClassifier.load(out)
    assert len(classifier._session.get_outputs()) == 1
    crops = np.random.default_rng(3).integers(0, 256, (5, 48, 48), np.uint8)
    assert np.abs(classifier.logits(crops) - predict_logits(net, crops)).max() < 1e-4

    plain = tmp_path / "plain"
    assert main(["train", "--fer2013", str(fer), "--out", str(plain), "--epochs", "1", "--threads", "1", "--emotion-weight", "0"]) == 0
    assert load_weights(plain).emotion_head is None
