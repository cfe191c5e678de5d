"""Face framing shared by training data, inference and the fine-tune set.

BlazeFace boxes run roughly brow to chin; public expression sets (FER2013, CK+) show the whole
face from forehead to chin with a little hair and cheek margin. `Framing` turns a detector box into
the square the model was trained on, and is stored in the model card so inference always frames
faces the way the model expects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from laughvid.types import Box


@dataclass(frozen=True)
class Framing:
    scale: float = 1.15  # square side = scale * max(box width, box height)
    offset_y: float = 0.0  # centre shift as a fraction of box height (negative = up)
    size: int = 48  # output side in pixels
    grey: bool = True

    def as_dict(self) -> dict:
        return asdict(self)


def square_region(box: Box, framing: Framing) -> tuple[float, float, float]:
    """(centre x, centre y, side) of the square crop for a detector box."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    return (x0 + x1) / 2, (y0 + y1) / 2 + framing.offset_y * h, framing.scale * max(w, h)


def crop_faces(frame_rgb: np.ndarray, boxes: Sequence[Box], framing: Framing) -> np.ndarray:
    """Square face crops, N x S x S uint8 (grey) or N x S x S x 3 (RGB). Parts of the square outside
    the frame repeat the edge pixels, so faces at the border keep their position in the crop."""
    if frame_rgb.ndim != 3 or frame_rgb.shape[2] != 3 or frame_rgb.dtype != np.uint8:
        raise ValueError(f"expected an H x W x 3 uint8 RGB frame, got {frame_rgb.shape} {frame_rgb.dtype}")
    size = framing.size
    out = np.empty((len(boxes), size, size) + (() if framing.grey else (3,)), np.uint8)
    height, width = frame_rgb.shape[:2]
    for i, box in enumerate(boxes):
        cx, cy, side = square_region(box, framing)
        side = max(side, 1.0)
        x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
        n = max(1, int(round(side)))
        # Clip to the frame, then pad back out by replicating the border.
        cx0, cy0 = min(max(x0, 0), width - 1), min(max(y0, 0), height - 1)
        cx1, cy1 = max(min(x0 + n, width), cx0 + 1), max(min(y0 + n, height), cy0 + 1)
        patch = frame_rgb[cy0:cy1, cx0:cx1]
        if framing.grey:  # per region, not the whole frame: a face is a small part of it
            patch = cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY)
        pads = (cy0 - y0, y0 + n - cy1, cx0 - x0, x0 + n - cx1)
        if any(p > 0 for p in pads):
            patch = cv2.copyMakeBorder(patch, *(max(0, p) for p in pads), cv2.BORDER_REPLICATE)
        interp = cv2.INTER_AREA if patch.shape[0] > size else cv2.INTER_LINEAR
        out[i] = cv2.resize(patch, (size, size), interpolation=interp)
    return out
