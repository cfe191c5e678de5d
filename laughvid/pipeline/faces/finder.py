"""Which face detectors analysis runs, and how their findings are merged.

`FaceFinder` keeps every face BlazeFace or YuNet finds: the two fail on different faces
(BlazeFace loses faces close to the camera, tilted far back or half covered by a hand; YuNet some
it finds less surely), so their union loses fewer laughing faces than either (measured,
docs/pipeline.md). Where both find a face, BlazeFace's box is kept: the smile model's framing was
fitted on it. To stay within the speed budget YuNet's whole-frame passes do not run on every
keyframe: `detect` (every keyframe) adds YuNet only where BlazeFace found nothing, `scan` (every
few keyframes) runs it on the whole frame at 320 and 640 px (faces under ~40 px); faces found
either way are then followed between scans by YuNet's second looks, `detect_region` (where a
tracked face was just missed, the region enlarged to `region_side`).
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import numpy as np

from laughvid.pipeline.faces.tracker import iou, merge
from laughvid.types import Box, Detection

if TYPE_CHECKING:  # importing a detector starts onnxruntime; `import laughvid.pipeline.analyze` stays cheap
    from laughvid.pipeline.faces.detector import FaceDetector
    from laughvid.pipeline.faces.yunet import YuNetDetector

DETECTORS = ("blaze", "yunet", "blaze+yunet")


class FaceFinder:
    """Whole-frame detection, second looks at regions, and a fine scan for small faces."""

    def __init__(
        self,
        blaze: FaceDetector | None,
        yunet: YuNetDetector | None,
        same_face_iou: float = 0.3,
        region_side: int = 192,
        scan_side: int = 640,
        scan_candidate_confidence: float = 0.5,
    ) -> None:
        if blaze is None and yunet is None:
            raise ValueError("FaceFinder needs at least one detector")
        self.blaze, self.yunet = blaze, yunet
        self.same_face_iou = same_face_iou
        self.region_side = region_side
        self.scan_side = scan_side
        self.scan_candidate_confidence = scan_candidate_confidence
        self._last_whole: tuple[weakref.ref, tuple[Detection, ...]] | None = None

    def detect(self, frame_rgb: np.ndarray) -> list[Detection]:
        """Every keyframe: BlazeFace, and YuNet at `input_side` only where BlazeFace found nothing (a face
        filling the frame, an aligned face crop); other faces YuNet would add come from `scan`."""
        found = self.blaze.detect(frame_rgb) if self.blaze else []
        return self._yunet_whole(frame_rgb) if self.yunet and not found else found

    def _yunet_whole(self, frame_rgb: np.ndarray) -> list[Detection]:
        """YuNet on the whole frame at `input_side`. `detect` and then `scan` of the same keyframe both
        need it where BlazeFace found nothing: the second asks for the same frame object and gets the
        first's faces instead of a second identical pass. The frame is remembered by a weak reference
        (identity, never address: it does not keep a batch's memory from reuse)."""
        last = self._last_whole
        if last is not None and last[0]() is frame_rgb:
            return list(last[1])
        found = self.yunet.detect(frame_rgb)
        self._last_whole = (weakref.ref(frame_rgb), tuple(found))
        return found

    def detect_region(self, frame_rgb: np.ndarray, region: Box) -> list[Detection]:
        if self.yunet:
            return self.yunet.detect_region(frame_rgb, region, self.region_side)
        return self.blaze.detect_region(frame_rgb, region)

    def scan(self, frame_rgb: np.ndarray) -> list[Detection]:
        """Faces BlazeFace does not see, on every `AnalysisParams.scan_every`-th keyframe: YuNet on the
        whole frame at `input_side`, plus small faces: candidates from the whole frame at `scan_side`
        px (a tiny face scores low there), each confirmed by a look at its region enlarged, at
        YuNet's own threshold. Nothing without YuNet."""
        if not self.yunet:
            return []
        height, width = frame_rgb.shape[:2]
        found = self._yunet_whole(frame_rgb)
        whole = (0.0, 0.0, float(width), float(height))
        for candidate in self.yunet.detect_region(frame_rgb, whole, self.scan_side, self.scan_candidate_confidence):
            if any(iou(candidate.box, f.box) >= self.same_face_iou for f in found):
                continue
            x0, y0, x1, y1 = candidate.box
            half = 1.5 * max(x1 - x0, y1 - y0)  # a 3-face-wide square around it
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            near = [
                d for d in self.detect_region(frame_rgb, (cx - half, cy - half, cx + half, cy + half)) if iou(d.box, candidate.box) > 0.3
            ]
            found = merge(found, near[:1], self.same_face_iou)
        return found


def make_detector(kind: str, min_confidence: float = 0.6, min_yunet_confidence: float = 0.75) -> FaceFinder:
    """The detectors an `AnalysisParams.detector` name stands for."""
    from laughvid.pipeline.faces.detector import FaceDetector
    from laughvid.pipeline.faces.yunet import YuNetDetector

    if kind not in DETECTORS:
        raise ValueError(f"unknown face detector {kind!r}; choose one of {', '.join(DETECTORS)}")
    blaze = FaceDetector(min_confidence=min_confidence) if "blaze" in kind else None
    yunet = YuNetDetector(min_confidence=min_yunet_confidence) if "yunet" in kind else None
    return FaceFinder(blaze, yunet)
