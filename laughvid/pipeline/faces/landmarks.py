"""Face geometry: MediaPipe Face Mesh V2 landmarks and blendshapes (ONNX, converted by
scripts/convert_face_landmarker.py), and the mouth measurements the fusion model reads.

Why a second signal: the CNN judges a 48x48 grey crop's appearance; the landmarks measure the mouth's
shape. They fail differently (the CNN on posed photos and odd light, geometry on small crops and
talking), so a fusion of both ranks video frames better than either.

Framing follows MediaPipe: a square of 1.5 x the detector box's longer side, centred on the box,
resized to 256x256 RGB in 0..1. Blendshapes read 146 of the 478 landmarks (x, y), the subset
MediaPipe's FaceBlendshapesGraph takes (face_blendshapes_graph.cc); the model normalises position
and scale itself, so crop pixels serve as well as frame pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from laughvid.types import Box

INPUT_SIZE = 256
CROP_SCALE = 1.5  # square side = CROP_SCALE x the detector box's longer side (MediaPipe's rect transformation)
LANDMARKS_FILE = "face_landmarks_detector.onnx"
BLENDSHAPES_FILE = "face_blendshapes.onnx"

# The landmarks MediaPipe's blendshape model reads, in its order (face_blendshapes_graph.cc, kLandmarksSubsetIdxs).
BLENDSHAPE_SUBSET = (
    *(0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63, 65, 66, 67, 70, 78, 80),
    *(81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133, 136, 144, 145, 146, 148, 149, 150, 152, 153),
    *(154, 155, 157, 158, 159, 160, 161, 162, 163, 168, 172, 173, 176, 178, 181, 185, 191, 195, 197, 234, 246, 249, 251),
    *(263, 267, 269, 270, 276, 282, 283, 284, 285, 288, 291, 293, 295, 296, 297, 300, 308, 310, 311, 312, 314, 317, 318),
    *(321, 323, 324, 332, 334, 336, 338, 356, 361, 362, 365, 373, 374, 375, 377, 378, 379, 380, 381, 382, 384, 385, 386),
    *(387, 388, 389, 390, 397, 398, 400, 402, 405, 409, 415, 454, 466, 468, 469, 470, 471, 472, 473, 474, 475, 476, 477),
)
BLENDSHAPE_NAMES = (
    *("_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight", "cheekPuff"),
    *("cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight", "eyeLookDownLeft", "eyeLookDownRight"),
    *("eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight"),
    *("eyeSquintLeft", "eyeSquintRight", "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen", "jawRight"),
    *("mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft", "mouthFrownRight", "mouthFunnel", "mouthLeft"),
    *("mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthRight"),
    *("mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight"),
    *("mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight", "noseSneerLeft", "noseSneerRight"),
)

# Face Mesh indices for the mouth measurements (subject's right/left as MediaPipe numbers them).
_EYE_RIGHT, _EYE_LEFT = (33, 133), (362, 263)  # corners of each eye; their midpoints define the eye line
_MOUTH_CORNERS = (61, 291)
_LIP_INNER = (13, 14)  # upper and lower inner lip, centre
_LIP_OUTER = (0, 17)  # upper and lower outer lip, centre

# What the fusion model reads per face: left/right blendshapes averaged (a laugh is symmetric enough,
# and a head turn hides one side), mouth measurements in inter-ocular distances, and the landmark
# model's face-presence probability (so the fusion can discount landmarks on a face it doubts).
_PAIRED = ("mouthSmile", "cheekSquint", "eyeSquint", "mouthStretch", "mouthPress", "mouthDimple", "mouthUpperUp", "mouthLowerDown")
_PAIRED += ("mouthFrown", "eyeBlink", "noseSneer", "browDown")
_SINGLE = ("jawOpen", "mouthClose", "mouthPucker", "mouthFunnel", "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "browInnerUp")
GEOMETRY = ("mouth_width", "corner_lift", "mouth_open")
FEATURES = (*_PAIRED, *_SINGLE, *GEOMETRY, "presence")


@dataclass(frozen=True)
class FaceShape:
    """One face at one frame: 478 landmarks (x, y in frame pixels, z in the same scale), the landmark
    model's face-presence probability and the 52 blendshape scores (0..1, in BLENDSHAPE_NAMES order)."""

    landmarks: np.ndarray
    presence: float
    blendshapes: np.ndarray


def landmark_crop(frame_rgb: np.ndarray, box: Box) -> tuple[np.ndarray, tuple[float, float, float]]:
    """The 256x256 RGB model input for a face box and (centre x, centre y, pixels per input pixel) to map
    landmarks back. Outside the frame the border repeats, so faces at the edge keep their place."""
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    side = max(CROP_SCALE * max(x1 - x0, y1 - y0), 1.0)
    k = INPUT_SIZE / side
    matrix = np.array([[k, 0, INPUT_SIZE / 2 - cx * k], [0, k, INPUT_SIZE / 2 - cy * k]])
    interp = cv2.INTER_AREA if k < 0.5 else cv2.INTER_LINEAR
    crop = cv2.warpAffine(frame_rgb, matrix, (INPUT_SIZE, INPUT_SIZE), flags=interp, borderMode=cv2.BORDER_REPLICATE)
    return crop, (cx, cy, 1 / k)


class FaceLandmarker:
    """Landmarks and blendshapes for face boxes, with ONNX Runtime."""

    def __init__(self, landmarks_session, blendshapes_session) -> None:
        self._landmarks = landmarks_session
        self._blendshapes = blendshapes_session

    @classmethod
    def load(cls, model_dir: str | Path | None = None, threads: int = 1) -> FaceLandmarker:
        """Load the converted models (default: the shipped models/face_landmarker/)."""
        from laughvid.config import LANDMARKER_DIR
        from laughvid.pipeline.onnx_sessions import cpu_session  # lazy: onnxruntime only when landmarks run

        model_dir = Path(model_dir or LANDMARKER_DIR)
        hint = "face landmark model missing (rebuild with scripts/convert_face_landmarker.py)"
        return cls(*(cpu_session(model_dir / name, f"{model_dir / name}: {hint}", threads) for name in (LANDMARKS_FILE, BLENDSHAPES_FILE)))

    def run(self, frame_rgb: np.ndarray, boxes: Sequence[Box]) -> list[FaceShape]:
        """One FaceShape per box (all boxes of the frame in one landmark call)."""
        if not boxes:
            return []
        crops, frames = zip(*(landmark_crop(frame_rgb, box) for box in boxes), strict=True)
        return self.run_crops(np.stack(crops), frames)

    def run_crops(self, crops: np.ndarray, frames: Sequence[tuple[float, float, float]] | None = None) -> list[FaceShape]:
        """Landmarks for N x 256 x 256 x 3 uint8 crops; `frames` maps each back to frame pixels (default: crop pixels)."""
        x = crops.astype(np.float32) / 255.0
        points, presence_logit, _ = self._landmarks.run(None, {self._landmarks.get_inputs()[0].name: x})
        points = points.reshape(len(crops), -1, 3)
        subset = np.ascontiguousarray(points[:, BLENDSHAPE_SUBSET, :2])
        name = self._blendshapes.get_inputs()[0].name
        out = []
        for i in range(len(crops)):  # the blendshape model takes one face per call (~2 ms)
            scores = self._blendshapes.run(None, {name: subset[i : i + 1]})[0].reshape(-1)
            lm = points[i].astype(np.float64)
            if frames is not None:
                cx, cy, per_px = frames[i]
                lm = np.column_stack(
                    [(lm[:, 0] - INPUT_SIZE / 2) * per_px + cx, (lm[:, 1] - INPUT_SIZE / 2) * per_px + cy, lm[:, 2] * per_px]
                )
            presence = float(1 / (1 + np.exp(-float(presence_logit.reshape(-1)[i]))))
            out.append(FaceShape(lm, presence, scores.astype(np.float64)))
        return out


def mouth_geometry(landmarks: np.ndarray) -> tuple[float, float, float]:
    """(mouth width, lip-corner lift, mouth opening), each in inter-ocular distances, with the eyes levelled
    (a tilted head does not read as a lopsided smile). Lift > 0: the corners sit above the lips' centre."""
    xy = landmarks[:, :2]
    right, left = xy[list(_EYE_RIGHT)].mean(0), xy[list(_EYE_LEFT)].mean(0)
    axis = left - right
    iod = float(np.hypot(*axis))
    if iod <= 1e-6:
        return (np.nan, np.nan, np.nan)
    c, s = axis / iod
    level = (xy - right) @ np.array([[c, -s], [s, c]]) / iod  # eye line along +x, unit = inter-ocular distance
    corners = level[list(_MOUTH_CORNERS)]
    centre_y = level[list(_LIP_OUTER), 1].mean()
    width = float(np.hypot(*(corners[1] - corners[0])))
    lift = float(centre_y - corners[:, 1].mean())  # image y grows downwards
    opening = float(np.hypot(*(level[_LIP_INNER[1]] - level[_LIP_INNER[0]])))
    return width, lift, opening


def features(shape: FaceShape) -> np.ndarray:
    """The fusion model's inputs for one face, in FEATURES order."""
    named = dict(zip(BLENDSHAPE_NAMES, shape.blendshapes, strict=True))
    paired = [(named[f"{n}Left"] + named[f"{n}Right"]) / 2 for n in _PAIRED]
    single = [named[n] for n in _SINGLE]
    return np.array([*paired, *single, *mouth_geometry(shape.landmarks), shape.presence], np.float64)
