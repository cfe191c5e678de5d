"""Face framing: where the face lands in the crop, and faces at the frame border."""

from __future__ import annotations

import numpy as np
import pytest

from laughvid.pipeline.faces.crop import Framing, crop_faces


def test_crop_frames_the_box_with_margin():
    frame = np.zeros((200, 300, 3), np.uint8)
    frame[50:150, 100:200] = 255  # the "face" box
    crops = crop_faces(frame, [(100, 50, 200, 150)], Framing(scale=1.25, offset_y=0.0, size=50))
    assert crops.shape == (1, 50, 50) and crops.dtype == np.uint8
    # 100 px box in a 125 px square: 10% margin each side
    row = crops[0, 25]
    assert row[:4].max() == 0 and row[6:44].min() == 255 and row[46:].max() == 0


def test_offset_moves_the_crop_up_and_colour_crops_keep_rgb():
    frame = np.zeros((200, 200, 3), np.uint8)
    frame[:100] = (255, 0, 0)
    up = crop_faces(frame, [(50, 50, 150, 150)], Framing(scale=1.0, offset_y=-0.2, size=20, grey=False))
    assert up.shape == (1, 20, 20, 3)
    assert (up[0, :, :, 0] == 255).mean() == pytest.approx(0.7, abs=0.06)


def test_faces_at_the_border_are_padded_not_shifted():
    frame = np.zeros((100, 100, 3), np.uint8)
    frame[:, :10] = 200
    crops = crop_faces(frame, [(-20, 20, 40, 80), (90, 90, 130, 130)], Framing(scale=1.0, size=30))
    assert crops.shape == (2, 30, 30)
    assert crops[0, 15, :10].min() == crops[0, 15, 0] > 0  # replicated left edge


def test_bad_frame_is_a_clear_error():
    with pytest.raises(ValueError, match="RGB frame"):
        crop_faces(np.zeros((10, 10), np.uint8), [(0, 0, 5, 5)], Framing())
