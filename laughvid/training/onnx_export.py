"""Export a trained SmileNet as a laughvid model directory: `model.onnx` (BatchNorm folded),
`weights.pt` (to fine-tune from), `model_card.json` and `MODEL_CARD.md`."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import torch

from laughvid.atomic import atomic_path
from laughvid.lifecycle.modelcard import ModelCard
from laughvid.training.model import SmileNet
from laughvid.training.train import save_weights

ONNX_FILE = "model.onnx"
INPUT_NAME, OUTPUT_NAME = "pixels", "logit"


def export_onnx(net: SmileNet, path: str | Path, size: int) -> None:
    """Write `net` (eval mode) as ONNX with a dynamic batch dimension; the legacy TorchScript
    exporter folds BatchNorm into the convolutions."""
    net = net.eval()
    with warnings.catch_warnings(), atomic_path(path) as tmp:
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice
        torch.onnx.export(
            net,
            torch.zeros(1, 1, size, size),
            str(tmp),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            opset_version=17,
            do_constant_folding=True,
            dynamo=False,
        )


def model_version(onnx_path: str | Path, prefix: str = "smile-v1") -> str:
    return f"{prefix}-{hashlib.sha256(Path(onnx_path).read_bytes()).hexdigest()[:8]}"


def write_model_dir(net: SmileNet, card: ModelCard, out_dir: str | Path, version_prefix: str = "smile-v1") -> ModelCard:
    """Export `net` into `out_dir` and save `card` with its version set from the ONNX bytes."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    export_onnx(net, out_dir / ONNX_FILE, card.framing.size)
    save_weights(net, out_dir / "weights.pt")
    card.version = model_version(out_dir / ONNX_FILE, version_prefix)
    card.save(out_dir)
    return card
