"""The product's smile classifier: ONNX Runtime only (no torch at run time).

A model directory holds `model.onnx`, `model_card.json` and `MODEL_CARD.md`; the card says how to
frame faces and how to turn logits into calibrated probabilities, so any model trained by
`laughvid train` or fine-tuned later drops in without code changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from laughvid.lifecycle.modelcard import ModelCard, platt
from laughvid.pipeline.faces.crop import crop_faces
from laughvid.pipeline.onnx_sessions import cpu_session
from laughvid.types import Box


class SmileClassifier:
    """Scores face crops with a calibrated probability of smiling."""

    def __init__(self, model_dir: Path, card: ModelCard, session: ort.InferenceSession, batch_size: int = 64) -> None:
        self.model_dir = model_dir
        self.card = card
        self.version = card.version
        self.threshold = card.threshold
        self.batch_size = batch_size
        self._session = session
        self._input = session.get_inputs()[0].name

    @classmethod
    def load(cls, model_dir: str | Path, threads: int = 1) -> SmileClassifier:
        """Load a model directory (`laughvid.lifecycle.registry.load_classifier` resolves versions and the active model).

        Raises:
            FileNotFoundError: the directory holds no model.onnx.
            ValueError: its model card is unreadable.
        """
        model_dir = Path(model_dir)
        onnx_path = model_dir / "model.onnx"
        # The model first: a folder without one is refused as such, not by the card's own (less clear) error.
        session = cpu_session(onnx_path, f"{onnx_path}: no model (a model directory holds model.onnx and model_card.json)", threads)
        return cls(model_dir, ModelCard.load(model_dir), session)

    @property
    def input_size(self) -> int:
        return self.card.framing.size

    def crop(self, frame_rgb: np.ndarray, boxes: Sequence[Box]) -> np.ndarray:
        """Face crops (N x S x S uint8) framed exactly as the model was trained."""
        return crop_faces(frame_rgb, boxes, self.card.framing)

    def logits(self, crops: np.ndarray) -> np.ndarray:
        """Raw logits for N x S x S uint8 grey crops, run in batches."""
        crops = np.asarray(crops)
        size = self.input_size
        if crops.ndim != 3 or crops.shape[1:] != (size, size):
            raise ValueError(f"expected N x {size} x {size} grey crops, got shape {crops.shape}")
        out = [np.zeros(0, np.float32)]
        for start in range(0, len(crops), self.batch_size):
            batch = crops[start : start + self.batch_size].astype(np.float32)[:, None]
            out.append(self._session.run(None, {self._input: batch})[0].reshape(-1))
        return np.concatenate(out)

    def score(self, crops: np.ndarray) -> np.ndarray:
        """Calibrated smile probabilities (float64, N)."""
        return platt(self.logits(crops), self.card.calibration)
