"""Fit the fusion of CNN and face geometry (laughvid.pipeline.fusion) on labelled face images.

Face crops from the expression data sets (FER2013 48x48, SMILEsmileD 64x64, CK+48) are framed like
the CNN's input (about 1.15 x a detector box); the landmark model expects 1.5 x, so each crop is
upscaled and padded (edges repeated) to sit in the 256x256 input as a video face would.

Fit on the CNN's *validation* split: on its training images the CNN is overconfident, and a fusion
fitted there would learn to trust it more than it deserves on new faces.
"""

from __future__ import annotations

import cv2
import numpy as np

from laughvid.pipeline.faces.crop import Framing
from laughvid.pipeline.faces.landmarks import CROP_SCALE, FEATURES, INPUT_SIZE, FaceLandmarker, features
from laughvid.pipeline.fusion import FusionModel, Logistic, logit


def image_canvas(grey: np.ndarray, crop_scale: float = Framing().scale) -> np.ndarray:
    """A face crop (framed at `crop_scale` x the box) as the landmark model's 256x256 RGB input."""
    inner = int(round(INPUT_SIZE * crop_scale / CROP_SCALE))
    face = cv2.resize(grey, (inner, inner), interpolation=cv2.INTER_CUBIC)
    pad = INPUT_SIZE - inner
    face = cv2.copyMakeBorder(face, pad // 2, pad - pad // 2, pad // 2, pad - pad // 2, cv2.BORDER_REPLICATE)
    return cv2.cvtColor(face, cv2.COLOR_GRAY2RGB)


def image_features(landmarker: FaceLandmarker, images: list[np.ndarray], batch: int = 16) -> np.ndarray:
    """FEATURES per grey face crop (N x F)."""
    out = np.empty((len(images), len(FEATURES)))
    for start in range(0, len(images), batch):
        crops = np.stack([image_canvas(g) for g in images[start : start + batch]])
        for i, shape in enumerate(landmarker.run_crops(crops)):
            out[start + i] = features(shape)
    return out


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iters: int = 50) -> Logistic:
    """L2-regularised logistic regression by Newton's method on standardised inputs (the intercept is not penalised)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    mean, scale = x.mean(0), x.std(0)
    scale[scale < 1e-9] = 1.0
    z = np.column_stack([np.ones(len(x)), (x - mean) / scale])
    w = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], l2)
    penalty[0] = 0.0
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(z @ w)))
        grad = z.T @ (p - y) + penalty * w
        hess = (z * (p * (1 - p))[:, None]).T @ z + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return Logistic(
        coef=w[1:].tolist(), intercept=float(w[0]), mean=mean.tolist(), scale=scale.tolist(), low=x.min(0).tolist(), high=x.max(0).tolist()
    )


def fit_fusion(version: str, cnn_prob: np.ndarray, feats: np.ndarray, labels: np.ndarray, l2: float = 1.0, **extra) -> FusionModel:
    """Both regressions of a FusionModel. Raises if the CNN's coefficient comes out negative (the
    fused probability must not fall as the CNN grows more sure)."""
    fused = fit_logistic(np.column_stack([logit(cnn_prob), feats]), labels, l2)
    if fused.coef[0] <= 0:
        raise ValueError(f"fusion fitted a CNN coefficient of {fused.coef[0]:.3f}: the data do not support fusing")
    geometry = fit_logistic(feats, labels, l2)
    return FusionModel(version, list(FEATURES), fused, geometry, **extra)
