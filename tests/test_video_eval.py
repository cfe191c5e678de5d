import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from laughvid.lifecycle.video_eval import Counts, VideoLabels, event_counts, frame_counts, in_spans, load_labels
from laughvid.types import Segment

REPO = Path(__file__).resolve().parents[1]
LABELS = VideoLabels("v.mp4", smile=((2.0, 4.0), (6.0, 7.0)), ignore=((8.0, 9.0),))


def seg(a, b):
    return Segment(a, b, 0.9, 0.8)


def test_a_time_is_in_spans_from_their_start_up_to_not_including_their_end():
    """Labels are [start, end): a frame on the boundary of two adjacent spans belongs to the later one only,
    and frame figures, face labels and face recall all read them through this one rule."""
    times = np.array([0.5, 1.0, 1.5, 2.0, 3.0, 4.0])
    assert in_spans(times, [(1.0, 2.0), (2.0, 3.0)]).tolist() == [False, True, True, True, False, False]
    assert in_spans(times, []).tolist() == [False] * 6


def test_frame_counts_skip_ignored_frames():
    times = np.arange(0, 10, 0.5)
    counts = frame_counts(times, [seg(2.0, 3.0), seg(8.0, 9.0)], LABELS)
    # truth frames: 2.0..3.5 and 6.0, 6.5 (6); predicted 2.0, 2.5 (+ 8.0, 8.5 ignored)
    assert (counts.tp, counts.fp, counts.fn) == (2, 0, 4)


def test_event_matching_uses_the_onset_collar_and_is_one_to_one():
    counts = event_counts([seg(2.4, 4.3), seg(2.1, 3.9), seg(6.8, 7.0), seg(8.2, 8.8)], LABELS, collar_s=0.5)
    # (2,4) matches the closest onset (2.1); 2.4 is then a false alarm; 6.8 misses the 0.5 s onset collar
    assert (counts.tp, counts.fp, counts.fn) == (1, 2, 1)
    assert counts.f1 == pytest.approx(2 * (1 / 3) * 0.5 / (1 / 3 + 0.5))


def test_no_laughs_and_no_predictions_is_perfect():
    empty = VideoLabels("quiet.mp4", (), ())
    assert event_counts([], empty).f1 == 1.0 and Counts().f1 == 1.0


def test_labels_file_format(tmp_path):
    path = tmp_path / "labels.json"
    path.write_text(json.dumps({"videos": {"a.mp4": {"smile": [[1, 2]], "ignore": []}, "b.mp4": {"labels": None}}}))
    assert load_labels(path) == [VideoLabels("a.mp4", ((1, 2),), ())]
    path.write_text("[]")
    with pytest.raises(ValueError, match="not a labels file"):
        load_labels(path)


def test_dev_labels_parse(dev_videos):
    labels = load_labels(dev_videos / "labels.json")
    assert len(labels) == 12 and all((dev_videos / lab.name).is_file() for lab in labels)


def test_eval_script_reports_missing_videos(tmp_path):
    (tmp_path / "labels.json").write_text(json.dumps({"videos": {"nope.mp4": {"smile": [], "ignore": []}}}))
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "eval_videos.py"),
            str(tmp_path),
            str(tmp_path / "labels.json"),
            "--store",
            str(tmp_path / "s.sqlite"),
            "--model",
            str(REPO / "models" / "smile"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "error" in proc.stderr
