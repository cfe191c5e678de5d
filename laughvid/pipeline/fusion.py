"""The laugh probability laughvid reports: the CNN's smile probability fused with face geometry.

`models/fusion/fusion.json` holds two logistic regressions on standardised face features
(laughvid.pipeline.faces.landmarks.FEATURES): `fused` also reads the CNN's calibrated logit (its
coefficient is kept >= 0, so a more confident CNN never lowers the fused probability), `geometry`
reads the face alone (stored beside it so the parts stay inspectable). Both are fitted by
laughvid.training.fit_fusion on the CNN's validation data (faces it did not train on).

Intensity (0..1) says how big a laugh is: the fused probability times how open the mouth is, so a
closed smile reads low, a wide-open laugh high and a neutral face (open or not) near 0.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from laughvid.pipeline.faces.landmarks import FEATURES, FaceLandmarker

FUSION_FILE = "fusion.json"
_EPS = 1e-6


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float64), _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-np.clip(np.asarray(z, np.float64), -500, 500)))


@dataclass
class Logistic:
    """p = sigmoid(intercept + coef . (x - mean) / scale), with x first clipped to the range seen in
    fitting (`low`..`high`): a face unlike any training face must not push the probability to 0 or 1
    by extrapolation."""

    coef: list[float]
    intercept: float
    mean: list[float]
    scale: list[float]
    low: list[float]
    high: list[float]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.clip(np.asarray(x, np.float64), self.low, self.high)
        z = (x - np.asarray(self.mean)) / np.asarray(self.scale)
        return sigmoid(self.intercept + z @ np.asarray(self.coef))


@dataclass
class FusionModel:
    version: str
    features: list[str]  # face features, in laughvid.pipeline.faces.landmarks.FEATURES order
    fused: Logistic  # inputs: [CNN logit, *features]
    geometry: Logistic  # inputs: features
    # Mouth openness = clip((jawOpen - open_low) / (open_high - open_low), 0, 1); intensity = p * (closed + (1 - closed) * openness).
    open_low: float = 0.05
    open_high: float = 0.5
    closed_intensity: float = 0.3
    trained_on: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    terms: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, model_dir: str | Path | None = None) -> FusionModel:
        from laughvid.config import FUSION_DIR

        path = Path(model_dir or FUSION_DIR) / FUSION_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no fusion model (fit one with scripts/train_fusion.py)")
        data = json.loads(path.read_text())
        data["fused"], data["geometry"] = Logistic(**data["fused"]), Logistic(**data["geometry"])
        model = cls(**data)
        if tuple(model.features) != FEATURES:
            raise ValueError(f"{path}: fitted on features {model.features}, this laughvid computes {list(FEATURES)}; refit it")
        return model

    def save(self, model_dir: str | Path) -> Path:
        path = Path(model_dir) / FUSION_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=1) + "\n")
        return path

    def fuse(self, cnn_prob: np.ndarray, feats: np.ndarray) -> np.ndarray:
        """Fused laugh probability per face; faces without geometry (NaN features) keep the CNN's."""
        cnn_prob = np.asarray(cnn_prob, np.float64)
        feats = np.atleast_2d(np.asarray(feats, np.float64))
        ok = ~np.isnan(feats).any(axis=1)
        out = cnn_prob.copy()
        if ok.any():
            out[ok] = self.fused(np.column_stack([logit(cnn_prob[ok]), feats[ok]]))
        return out

    def geometry_score(self, feats: np.ndarray) -> np.ndarray:
        """Laugh probability from the face geometry alone (NaN without geometry)."""
        feats = np.atleast_2d(np.asarray(feats, np.float64))
        out = np.full(len(feats), np.nan)
        ok = ~np.isnan(feats).any(axis=1)
        if ok.any():
            out[ok] = self.geometry(feats[ok])
        return out

    def intensity(self, prob: np.ndarray, feats: np.ndarray) -> np.ndarray:
        """How big the laugh is, 0..1 (NaN without geometry)."""
        feats = np.atleast_2d(np.asarray(feats, np.float64))
        jaw = feats[:, self.features.index("jawOpen")]
        openness = np.clip((jaw - self.open_low) / (self.open_high - self.open_low), 0, 1)
        return np.asarray(prob, np.float64) * (self.closed_intensity + (1 - self.closed_intensity) * openness)


SHIPPED_FUSION = "fusion-v1"  # the version of models/fusion/fusion.json; AnalysisParams names it, so a refit is a new analysis


@dataclass
class GeometryScorer:
    """What analysis needs for the second opinion: the landmark models and the fusion fitted on their features."""

    landmarker: FaceLandmarker
    model: FusionModel

    @classmethod
    def load(cls, version: str = SHIPPED_FUSION, threads: int = 1) -> GeometryScorer:
        """The shipped landmark and fusion models; refuses a fusion of another version than `version`."""
        model = FusionModel.load()
        if model.version != version:
            raise ValueError(f"analysis asks for fusion {version!r}, the shipped one is {model.version!r}")
        return cls(FaceLandmarker.load(threads=threads), model)
