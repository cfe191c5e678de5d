"""Face detection with MediaPipe BlazeFace, run by onnxruntime.

Why BlazeFace: measured on this project's 2-core CPU machine, OpenCV's res10 SSD (Caffe) takes
~26 ms per frame at 300x300, Haar misses non-frontal faces, MTCNN pins an old torch, and the
`mediapipe` wheel forces numpy 1. BlazeFace full-range (192x192, Apache-2.0) converted once to ONNX
(`scripts/convert_face_detector.py`) takes a few ms per frame in the same runtime as the smile
classifier, finds faces from selfie distance down to ~5 m, and adds no dependency.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from laughvid.config import DETECTOR_DIR
from laughvid.pipeline.onnx_sessions import cpu_session
from laughvid.types import Box, Detection


@dataclass(frozen=True)
class BlazeFaceSpec:
    """Anchor layout of one BlazeFace variant (mediapipe ssd_anchors_calculator options)."""

    filename: str
    input_size: int
    strides: tuple[int, ...]
    anchors_per_cell: int


FULL_RANGE = BlazeFaceSpec("face_detection_full_range.onnx", 192, (4,), 1)


def _anchor_centres(spec: BlazeFaceSpec) -> np.ndarray:
    """Anchor centres (x, y) in [0, 1], in the order the model emits its boxes."""
    centres = []
    layer = 0
    while layer < len(spec.strides):
        stride = spec.strides[layer]
        repeats = 0
        while layer < len(spec.strides) and spec.strides[layer] == stride:
            repeats += spec.anchors_per_cell
            layer += 1
        cells = spec.input_size // stride
        ys, xs = np.meshgrid((np.arange(cells) + 0.5) / cells, (np.arange(cells) + 0.5) / cells, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(grid, repeats, axis=0))
    return np.concatenate(centres).astype(np.float32)


def _weighted_nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> list[tuple[np.ndarray, float]]:
    """BlazeFace's weighted non-maximum suppression: overlapping boxes are averaged by score."""
    order = np.argsort(-scores)
    boxes, scores = boxes[order], scores[order]
    remaining = np.ones(len(scores), bool)
    kept = []
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    for i in range(len(scores)):
        if not remaining[i]:
            continue
        x0 = np.maximum(boxes[i, 0], boxes[:, 0])
        y0 = np.maximum(boxes[i, 1], boxes[:, 1])
        x1 = np.minimum(boxes[i, 2], boxes[:, 2])
        y1 = np.minimum(boxes[i, 3], boxes[:, 3])
        inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
        iou = inter / np.maximum(areas[i] + areas - inter, 1e-9)
        group = remaining & (iou > iou_threshold)
        weights = scores[group]
        kept.append(((boxes[group] * weights[:, None]).sum(0) / weights.sum(), float(scores[i])))
        remaining &= ~group
    return kept


def region_pixels(region: Box, shape: tuple[int, ...], min_side: int = 8) -> tuple[int, int, int, int] | None:
    """Integer (x0, y0, x1, y1) of a region clipped to a frame of `shape`, or None if too small to search."""
    height, width = shape[:2]
    x0, y0 = max(0, int(region[0])), max(0, int(region[1]))
    x1, y1 = min(width, int(np.ceil(region[2]))), min(height, int(np.ceil(region[3])))
    return (x0, y0, x1, y1) if x1 - x0 >= min_side and y1 - y0 >= min_side else None


class FaceDetector:
    """Finds faces in RGB frames; returns pixel boxes in the frame's own coordinates."""

    def __init__(
        self,
        spec: BlazeFaceSpec = FULL_RANGE,
        min_confidence: float = 0.6,
        iou_threshold: float = 0.3,
        min_face_px: int = 20,
        threads: int = 1,
    ) -> None:
        path = DETECTOR_DIR / spec.filename
        self._session = cpu_session(path, f"face detector model missing: {path} (reinstall laughvid)", threads)
        self._input = self._session.get_inputs()[0].name
        self._spec = spec
        self._anchors = _anchor_centres(spec)
        self.min_confidence = min_confidence
        self.iou_threshold = iou_threshold
        self.min_face_px = min_face_px

    def detect_region(self, frame_rgb: np.ndarray, region: Box) -> list[Detection]:
        """Faces inside `region` of the frame (a second look where a tracked face was missed), in frame pixels."""
        if (pixels := region_pixels(region, frame_rgb.shape)) is None:
            return []
        x0, y0, x1, y1 = pixels
        return [
            Detection((d.box[0] + x0, d.box[1] + y0, d.box[2] + x0, d.box[3] + y0), d.confidence)
            for d in self.detect(np.ascontiguousarray(frame_rgb[y0:y1, x0:x1]))
        ]

    def detect(self, frame_rgb: np.ndarray) -> list[Detection]:
        """Faces in one upright RGB frame (H x W x 3 uint8), most confident first."""
        height, width = frame_rgb.shape[:2]
        size = self._spec.input_size
        # Letterbox to a square so faces keep their aspect ratio.
        scale = size / max(height, width)
        new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
        if max(height, width) > 4 * size:
            # INTER_AREA straight from 720p costs ~3.7 ms, as much as the network; a linear step to twice
            # the target first costs ~0.3 ms in all and finds the same faces (183 dev frames: same
            # counts, box IoU 0.997; measured by the PIPE benchmark work).
            frame_rgb = cv2.resize(frame_rgb, (new_w * 2, new_h * 2), interpolation=cv2.INTER_LINEAR)
        resized = cv2.resize(frame_rgb, (new_w, new_h), interpolation=cv2.INTER_AREA)
        pad_x, pad_y = (size - new_w) // 2, (size - new_h) // 2
        canvas = np.zeros((size, size, 3), np.uint8)
        canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = resized
        tensor = (canvas.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[None]
        raw_boxes, raw_scores = self._session.run(None, {self._input: tensor})
        scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores[0, :, 0], -80, 80)))
        candidates = scores >= self.min_confidence
        if not candidates.any():
            return []
        raw = raw_boxes[0, candidates, :4] / size
        centres = raw[:, :2] + self._anchors[candidates]
        half = raw[:, 2:4] / 2
        boxes = np.concatenate([centres - half, centres + half], axis=1) * size  # letterboxed pixels
        boxes -= [pad_x, pad_y, pad_x, pad_y]
        boxes /= scale
        found = []
        for box, confidence in _weighted_nms(boxes, scores[candidates], self.iou_threshold):
            x0, y0, x1, y1 = np.clip(box, 0, [width, height, width, height])
            if min(x1 - x0, y1 - y0) >= self.min_face_px:
                found.append(Detection((float(x0), float(y0), float(x1), float(y1)), confidence))
        return found
