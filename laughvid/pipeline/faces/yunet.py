"""Face detection with OpenCV Zoo's YuNet, run by onnxruntime; the second opinion beside BlazeFace.

Why a second detector: BlazeFace loses exactly the frames that matter most, a laugh with the head
thrown back and the mouth wide open close to the camera, and misses small faces across a room,
profiles and babies. YuNet (MIT, 230 KB, WIDER Face trained: faces of ~10 to ~300 px) finds many of
those; measured choice and figures in docs/pipeline.md.

Why onnxruntime rather than `cv2.FaceDetectorYN`: the same runtime and thread settings as the other
models, the graph takes any input size (a multiple of 32), and decoding is a few numpy lines
(measured: same boxes, same speed).

Box convention: YuNet's boxes run from the hairline to the chin, BlazeFace's from the brow. The
smile model's framing (`laughvid.pipeline.faces.crop.Framing`) was fitted on BlazeFace boxes, so
YuNet boxes are mapped to BlazeFace's geometry (`BLAZE_GEOMETRY`, fitted on frames where both find
the same face) before anything else sees them.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from laughvid.config import DETECTOR_DIR
from laughvid.pipeline.faces.detector import region_pixels
from laughvid.pipeline.onnx_sessions import cpu_session
from laughvid.types import Box, Detection

MODEL_FILE = "face_detection_yunet_2026may.onnx"
STRIDES = (8, 16, 32)


@dataclass(frozen=True)
class BoxMap:
    """Per-edge shift of a box, in units of its own width (x edges) and height (y edges)."""

    x0: float = 0.0
    y0: float = 0.0
    x1: float = 0.0
    y1: float = 0.0

    def apply(self, box: Box) -> Box:
        x0, y0, x1, y1 = box
        w, h = x1 - x0, y1 - y0
        return (x0 + self.x0 * w, y0 + self.y0 * h, x1 + self.x1 * w, y1 + self.y1 * h)


# Median edge shifts from YuNet's to BlazeFace's box for the same face (dev frames, see docs/pipeline.md).
BLAZE_GEOMETRY = BoxMap(-0.085, 0.115, 0.05, -0.025)


class YuNetDetector:
    """Finds faces in RGB frames (or a region of one); pixel boxes in the frame's own coordinates."""

    def __init__(
        self,
        input_side: int = 320,
        min_confidence: float = 0.75,
        iou_threshold: float = 0.3,
        min_face_px: int = 12,
        geometry: BoxMap = BLAZE_GEOMETRY,
        threads: int = 1,
    ) -> None:
        path = DETECTOR_DIR / MODEL_FILE
        self._session = cpu_session(path, f"face detector model missing: {path} (reinstall laughvid)", threads)
        self._outputs = [o.name for o in self._session.get_outputs()]
        self.input_side = input_side
        self.min_confidence = min_confidence
        self.iou_threshold = iou_threshold
        self.min_face_px = min_face_px
        self.geometry = geometry

    def detect(self, frame_rgb: np.ndarray) -> list[Detection]:
        """Faces in one upright RGB frame (H x W x 3 uint8), most confident first."""
        height, width = frame_rgb.shape[:2]
        return self.detect_region(frame_rgb, (0.0, 0.0, float(width), float(height)))

    def detect_region(
        self, frame_rgb: np.ndarray, region: Box, side: int | None = None, min_confidence: float | None = None
    ) -> list[Detection]:
        """Faces inside `region` of the frame, the region scaled so its longer side is `side` px
        (default `input_side`), scoring at least `min_confidence` (default the detector's).

        Looking again at a region is how a tracked face survives a detector miss: a face that fills
        the frame gets the whole input to itself, and a small one is enlarged.
        """
        height, width = frame_rgb.shape[:2]
        if (pixels := region_pixels(region, frame_rgb.shape)) is None:
            return []
        x0, y0, x1, y1 = pixels
        patch = frame_rgb[y0:y1, x0:x1]
        scale = (side or self.input_side) / max(x1 - x0, y1 - y0)
        new_w, new_h = max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale))
        resized = cv2.resize(patch, (new_w, new_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        pad_w, pad_h = -(-new_w // 32) * 32, -(-new_h // 32) * 32
        # Written straight in the network's layout (1 x 3 x H x W, BGR, 0-255), not as a transposed view that
        # onnxruntime copies again: a 640-px scan pass took 13 ms of CPU instead of 22 (measured; same numbers).
        canvas = np.zeros((1, 3, pad_h, pad_w), np.float32)
        canvas[0, :, :new_h, :new_w] = resized.transpose(2, 0, 1)[::-1]
        outputs = dict(zip(self._outputs, self._session.run(None, {"input": canvas}), strict=True))
        threshold = self.min_confidence if min_confidence is None else min_confidence
        boxes, scores = _decode(outputs, pad_w, pad_h, threshold)
        if not len(scores):
            return []
        boxes = boxes / scale + [x0, y0, x0, y0]
        keep = cv2.dnn.NMSBoxes(
            [[float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])] for b in boxes],
            scores.tolist(),
            threshold,
            self.iou_threshold,
        )
        found = []
        for i in np.asarray(keep, int).ravel():
            bx0, by0, bx1, by1 = np.clip(self.geometry.apply(tuple(boxes[i])), 0, [width, height, width, height])
            if min(bx1 - bx0, by1 - by0) >= self.min_face_px:
                found.append(Detection((float(bx0), float(by0), float(bx1), float(by1)), float(scores[i])))
        return sorted(found, key=lambda d: -d.confidence)


def _decode(outputs: dict[str, np.ndarray], width: int, height: int, min_confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (x0, y0, x1, y1 in input pixels) and scores above `min_confidence`, all strides.

    YuNet is anchor-free: each cell of each stride predicts a score sqrt(class * objectness), its
    box centre as an offset from the cell in strides, and log width/height in strides.
    """
    all_boxes, all_scores = [], []
    for stride in STRIDES:
        cols = width // stride
        score = np.sqrt(np.clip(outputs[f"cls_{stride}"][0, :, 0], 0, 1) * np.clip(outputs[f"obj_{stride}"][0, :, 0], 0, 1))
        idx = np.flatnonzero(score >= min_confidence)
        if not len(idx):
            continue
        raw = outputs[f"bbox_{stride}"][0, idx]
        cx, cy = (idx % cols + raw[:, 0]) * stride, (idx // cols + raw[:, 1]) * stride
        w, h = np.exp(raw[:, 2]) * stride, np.exp(raw[:, 3]) * stride
        all_boxes.append(np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1))
        all_scores.append(score[idx])
    if not all_boxes:
        return np.zeros((0, 4)), np.zeros(0)
    return np.concatenate(all_boxes), np.concatenate(all_scores)
