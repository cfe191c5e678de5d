"""Figures reported on labelled videos: bootstrap intervals and settings chosen without the clips scored."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from laughvid.lifecycle.video_cv import cross_validate
from laughvid.lifecycle.video_eval import VideoLabels, load_labels, paired_figures, score_videos, set_figures
from laughvid.pipeline.segments import SmoothingParams
from laughvid.types import ScoreSeries

T = np.round(np.arange(0, 10, 0.1), 3)


def clip(name, source, laugh_level, false_level=None, tags=()):
    """A clip with one labelled laugh at 2-4 s scored `laugh_level`, and optionally a false bump at 6-8 s."""
    probs = np.full(len(T), 0.1)
    probs[(T >= 2) & (T < 4)] = laugh_level
    if false_level is not None:
        probs[(T >= 6) & (T < 8)] = false_level
    series = ScoreSeries(T.copy(), probs)
    result = SimpleNamespace(series=series, tracks={}, end_s=10.0, laugh=lambda window_s: (series, {}))  # as AnalysisResult.laugh
    return VideoLabels(name, ((2.0, 4.0),), (), source, tuple(tags)), result


def test_perfect_predictions_give_f1_one_with_a_degenerate_interval():
    labelled = [clip("a.mp4", "x", 0.9), clip("b.mp4", "y", 0.9)]
    figures = set_figures(score_videos(labelled, SmoothingParams())[0], n_boot=200)
    assert figures.event_f1.value == 1.0 and (figures.event_f1.low, figures.event_f1.high) == (1.0, 1.0)
    assert figures.frame_roc_auc.value == 1.0
    assert figures.clips == 2 and figures.events == 2 and figures.talking_flagged is None


def test_talking_only_clips_report_the_fraction_of_frames_flagged():
    talk = VideoLabels("talk.mp4", (), (), "z", ("talking_only",)), clip("t", "z", 0.1, 0.95)[1]
    figures = set_figures(score_videos([clip("a.mp4", "x", 0.9), talk], SmoothingParams())[0], n_boot=100)
    assert figures.talking_flagged.value == pytest.approx(0.2)  # 2 s of 10 s flagged


def test_each_source_is_scored_with_a_setting_chosen_without_it():
    """Sources x and y laugh at 0.6 (a 0.5 threshold finds them); source z laughs at 0.95 and has a
    0.6 false bump (only 0.9 is right for it). Held out, z gets 0.5 and its false bump counts."""
    labelled = [clip("x1.mp4", "x", 0.6), clip("x2.mp4", "x", 0.6), clip("y1.mp4", "y", 0.6), clip("z1.mp4", "z", 0.95, 0.6)]
    low, high = SmoothingParams(on_threshold=0.5, off_threshold=0.4), SmoothingParams(on_threshold=0.9, off_threshold=0.8)
    cv = cross_validate(labelled, [high, low])
    assert cv.chosen["z"] == low and cv.best_overall == low
    z = next(r for r in cv.held_out if r.name == "z1.mp4")
    assert (z.events.tp, z.events.fp) == (1, 1)
    in_sample_z = score_videos([labelled[3]], high)[0][0]
    assert (in_sample_z.events.tp, in_sample_z.events.fp) == (1, 0), "the held-out figure is worse than choosing on z itself"


def test_a_talking_bound_keeps_settings_that_fire_on_talking_out_of_the_choice():
    """Laughs at 0.6 need the low threshold, which also flags 2 s of 10 of the talking clip's 0.6 bump."""
    talk = VideoLabels("t.mp4", (), (), "t", ("talking_only",)), clip("t", "t", 0.1, 0.6)[1]
    labelled = [clip("x1.mp4", "x", 0.6), clip("y1.mp4", "y", 0.6), talk]
    low, high = SmoothingParams(on_threshold=0.5, off_threshold=0.4), SmoothingParams(on_threshold=0.9, off_threshold=0.8)
    free = cross_validate(labelled, [high, low])
    assert free.best_overall == low and free.figures.talking_flagged.value == pytest.approx(0.2)
    bound = cross_validate(labelled, [high, low], max_talking=0.02)
    assert bound.best_overall == high and bound.chosen["x"] == high  # the talking clip is in their training clips
    assert bound.chosen["t"] == low  # held out, no talking clip is left to veto it
    assert bound.figures.event_f1.value == 0.0 and bound.figures.talking_flagged.value == pytest.approx(0.2)


def test_paired_figures_are_differences_on_the_same_resampled_clips():
    labelled = [clip("a.mp4", "x", 0.9), clip("b.mp4", "y", 0.9), clip("c.mp4", "z", 0.6)]
    good = score_videos(labelled, SmoothingParams(on_threshold=0.5, off_threshold=0.4))[0]
    bad = score_videos(labelled, SmoothingParams(on_threshold=0.7, off_threshold=0.5))[0]  # misses c's laugh
    same = paired_figures(good, good, n_boot=100)
    assert (same.event_f1.value, same.event_f1.low, same.event_f1.high) == (0.0, 0.0, 0.0)
    gain = paired_figures(good, bad, n_boot=200)
    assert gain.event_f1.value == pytest.approx(1.0 - 0.8) and gain.event_f1.low >= 0.0  # F1 2/2.5 -> 1 on the pooled events
    assert gain.frame_roc_auc.value == 0.0  # thresholds do not move the scores
    with pytest.raises(ValueError, match="same clips"):
        paired_figures(good, bad[::-1])


def test_labels_carry_source_tags_and_conditions(tmp_path):
    path = tmp_path / "labels.json"
    entry = {"smile": [[1, 2]], "ignore": [], "source": {"repo": "o/r"}, "tags": ["talking"], "conditions": {"head_back": [[1, 1.5]]}}
    path.write_text(json.dumps({"videos": {"a.mp4": entry}}))
    [lab] = load_labels(path)
    assert lab.group == "o/r" and lab.tags == ("talking",) and lab.conditions == (("head_back", ((1.0, 1.5),)),)
