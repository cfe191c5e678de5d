"""Batched augmentation for grey face crops, tuned to what video faces do to a still-photo model:
head pose (rotation, mirror), detector jitter (shift, scale), focus and motion blur, low
resolution, lighting (brightness, contrast, gamma) and codec artefacts (JPEG)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Augment:
    rotate_deg: float = 15.0
    # >1 zooms in (tighter crop). Up to 1.45: other detectors and data sets frame tighter than FER2013
    # (SMILEsmileD cuts at the brows); with 1.2 a FER-trained net lost ~0.004 ROC-AUC on such crops.
    scale: tuple[float, float] = (0.85, 1.45)
    shift: float = 0.08  # fraction of the crop size
    blur_p: float = 0.3  # down-then-up sampling (blur + low resolution)
    jpeg_p: float = 0.3
    jpeg_quality: tuple[int, int] = (15, 70)
    brightness: float = 0.25
    contrast: tuple[float, float] = (0.6, 1.4)
    gamma: tuple[float, float] = (0.6, 1.6)
    noise_std: float = 4.0  # grey levels
    erase_p: float = 0.1  # small occluder (hands, microphones)


def jpeg_degrade(images: np.ndarray, aug: Augment, rng: np.random.Generator) -> np.ndarray:
    """JPEG-compress a random subset of uint8 images (N x S x S) at random low quality."""
    out = images.copy()
    for i in np.flatnonzero(rng.random(len(images)) < aug.jpeg_p):
        quality = int(rng.integers(*aug.jpeg_quality))
        ok, buf = cv2.imencode(".jpg", images[i], [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            out[i] = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    return out


def augment_batch(pixels: torch.Tensor, aug: Augment, generator: torch.Generator) -> torch.Tensor:
    """Geometric and photometric augmentation of N x 1 x S x S float pixels in 0..255."""
    n, _, size, _ = pixels.shape

    def uniform(low: float, high: float, *shape: int) -> torch.Tensor:
        return torch.rand(n, *shape, generator=generator) * (high - low) + low

    angle = uniform(-aug.rotate_deg, aug.rotate_deg) * math.pi / 180
    scale = torch.exp(uniform(math.log(aug.scale[0]), math.log(aug.scale[1])))
    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [
            torch.stack([cos * flip, -sin, uniform(-aug.shift, aug.shift) * 2], 1),
            torch.stack([sin * flip, cos, uniform(-aug.shift, aug.shift) * 2], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta, list(pixels.shape), align_corners=False)
    x = F.grid_sample(pixels, grid, mode="bilinear", padding_mode="border", align_corners=False)

    blur = torch.rand(n, generator=generator) < aug.blur_p
    if blur.any():
        small = int(size * float(uniform(0.35, 0.75, 1)[0]))
        degraded = F.interpolate(F.interpolate(x[blur], size=small, mode="area"), size=size, mode="bilinear", align_corners=False)
        x = x.clone()
        x[blur] = degraded

    x = (x / 255.0).clamp(1e-4, 1.0) ** uniform(*aug.gamma, 1, 1, 1)
    mean = x.mean(dim=(2, 3), keepdim=True)
    x = (x - mean) * uniform(*aug.contrast, 1, 1, 1) + mean + uniform(-aug.brightness, aug.brightness, 1, 1, 1)
    x = x * 255.0 + torch.randn(x.shape, generator=generator) * aug.noise_std

    erase = torch.nonzero(torch.rand(n, generator=generator) < aug.erase_p)[:, 0]
    for i in erase.tolist():
        h = int(torch.randint(size // 6, size // 3, (1,), generator=generator))
        y0, x0 = (int(v) for v in torch.randint(0, size - h, (2,), generator=generator))
        x[i, :, y0 : y0 + h, x0 : x0 + h] = float(torch.rand(1, generator=generator) * 255)
    return x.clamp(0, 255)
