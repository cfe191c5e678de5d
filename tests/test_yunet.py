"""YuNet decoding and the detectors analysis runs, on the public-domain astronaut photo (tests/media.py)."""

import numpy as np
import pytest
from media import ASTRONAUT_FACE_BOX, _face_patch

from laughvid.pipeline.faces.detector import FaceDetector
from laughvid.pipeline.faces.finder import make_detector
from laughvid.pipeline.faces.tracker import iou
from laughvid.pipeline.faces.yunet import YuNetDetector

PATCH_X0 = 96  # tests/media.py pastes the photo's region x 96..352, y 0..256


def frame_with_face(size=(1280, 720), at=(700, 300), scale=1.0):
    import cv2

    patch = _face_patch()
    if scale != 1.0:
        patch = cv2.resize(patch, (round(256 * scale), round(256 * scale)), interpolation=cv2.INTER_AREA)
    frame = np.full((size[1], size[0], 3), 90, np.uint8)
    x, y = at
    frame[y : y + patch.shape[0], x : x + patch.shape[1]] = patch
    fx0, fy0, fx1, fy1 = ASTRONAUT_FACE_BOX
    return frame, (x + (fx0 - PATCH_X0) * scale, y + fy0 * scale, x + (fx1 - PATCH_X0) * scale, y + fy1 * scale)


def test_yunet_boxes_are_in_the_frames_coordinates():
    frame, face = frame_with_face()
    [found] = YuNetDetector().detect(frame)
    [blaze] = FaceDetector().detect(frame)
    assert found.confidence > 0.8 and iou(found.box, face) > 0.6
    assert (
        iou(found.box, blaze.box) > 0.75
    )  # mapped to BlazeFace's geometry: the smile model's framing sees a box like the one it was fitted on


def test_yunet_gets_the_frame_as_bgr_0_255_in_its_own_layout_without_a_copy():
    """The input tensor is built in place (1 x 3 x H x W, contiguous): the same numbers as the BGR
    transpose of the resized frame, zero-padded to a multiple of 32, that onnxruntime would otherwise copy."""
    import cv2

    frame, _ = frame_with_face()
    detector, seen = YuNetDetector(), []
    session = detector._session
    detector._session = type("Spy", (), {"run": lambda self, out, feeds: seen.append(feeds["input"]) or session.run(out, feeds)})()
    detector.detect_region(frame, (0.0, 0.0, 1280.0, 720.0), side=640)
    [tensor] = seen
    expected = np.zeros((384, 640, 3), np.float32)
    expected[:360] = cv2.resize(frame, (640, 360), interpolation=cv2.INTER_AREA)[:, :, ::-1]
    assert tensor.flags.c_contiguous and np.array_equal(tensor, expected.transpose(2, 0, 1)[None])


def test_a_region_look_returns_frame_coordinates():
    frame, face = frame_with_face()
    [whole] = YuNetDetector().detect(frame)
    [near] = YuNetDetector().detect_region(frame, (600.0, 200.0, 1000.0, 600.0), side=192)
    assert iou(near.box, whole.box) > 0.8 and iou(near.box, face) > 0.7
    assert YuNetDetector().detect_region(frame, (0.0, 0.0, 400.0, 400.0)) == []  # nothing there


def test_the_scan_finds_a_face_too_small_for_the_keyframe_pass():
    frame, face = frame_with_face(at=(600, 300), scale=36 / 107)  # a 36 px face in a 720p frame: across a room
    finder = make_detector("blaze+yunet")
    assert finder.detect(frame) == []  # BlazeFace at 192 px and YuNet at 320 px do not see it
    [found] = finder.scan(frame)
    assert iou(found.box, face) > 0.5


def test_a_scan_after_detect_on_the_same_frame_runs_yunets_whole_frame_pass_once():
    """Where BlazeFace finds nothing, `detect` already ran YuNet on the whole frame; the scan of that
    keyframe reuses it (same faces as a scan on its own), and only for that very frame object."""
    frame, _ = frame_with_face(at=(600, 300), scale=36 / 107)
    alone = make_detector("blaze+yunet").scan(frame)
    finder = make_detector("blaze+yunet")
    calls = []
    whole_pass = finder.yunet.detect
    finder.yunet.detect = lambda f: calls.append(f) or whole_pass(f)
    assert finder.detect(frame) == [] and len(calls) == 1
    assert finder.scan(frame) == alone and len(calls) == 1
    assert finder.scan(frame.copy()) == alone and len(calls) == 2  # another frame: its own pass


def test_both_detectors_one_face_one_box_blazefaces():
    frame, _ = frame_with_face()
    finder = make_detector("blaze+yunet")
    [found] = finder.detect(frame)
    assert found == FaceDetector().detect(frame)[0]


def test_an_unknown_detector_name_is_refused():
    with pytest.raises(ValueError, match="unknown face detector"):
        make_detector("haar", 0.6)
