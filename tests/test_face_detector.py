import numpy as np
import pytest

from laughvid.pipeline.faces.detector import FULL_RANGE, FaceDetector, _anchor_centres


def test_anchor_layout_matches_model_outputs():
    assert _anchor_centres(FULL_RANGE).shape == (48 * 48, 2)


def test_blank_frame_has_no_faces():
    assert FaceDetector().detect(np.zeros((360, 640, 3), np.uint8)) == []


def test_finds_the_face_in_dev_clip(dev_videos):
    decord = pytest.importorskip("decord")
    reader = decord.VideoReader(str(dev_videos / "d0.mp4"))
    frame = reader.get_batch([len(reader) // 2]).asnumpy()[0]
    faces = FaceDetector().detect(frame)
    assert len(faces) == 1
    x0, y0, x1, y1 = faces[0].box
    assert 150 < x1 - x0 < 400 and 0.7 < (x1 - x0) / (y1 - y0) < 1.4
