"""What the app's callbacks used to decide inline, now plain functions in laughvid.ui.actions, tested
without Streamlit: the tuning sliders, the thumbnail strip, the unsure moments and the export
button's checks and messages. The app itself runs in test_app.py (AppTest) and test_browser.py."""

from __future__ import annotations

import numpy as np
import pytest
from media import astronaut_video
from pipe_helpers import BrightnessScorer

from laughvid import review, store
from laughvid.config import Settings
from laughvid.errors import BlurError, FinetuneExportError, LaughvidError, ReviewError
from laughvid.pipeline.analyze import analyze_video
from laughvid.pipeline.segments import SmoothingParams
from laughvid.types import ReviewedSegment, Segment
from laughvid.ui import actions


def test_the_tuning_defaults_are_the_analysis_defaults_and_hysteresis_stops_at_zero():
    assert actions.Tuning.default().smoothing() == SmoothingParams(), "the sliders' defaults give `laughvid analyze`'s segments"
    steep = actions.Tuning(0.3, 0.5, 1.0, 0.5, 0.5).smoothing()
    assert (steep.on_threshold, steep.off_threshold, steep.median_s) == (0.3, 0.0, 1.0)


def test_the_strip_spans_the_video_from_first_to_last_frame():
    times = np.arange(100) / 10
    picks = actions.strip_times(times)
    assert len(picks) == 10 and picks[0] == 0.0 and picks[-1] == pytest.approx(9.9)
    assert actions.strip_times(np.array([])) == ()


@pytest.fixture
def video(tmp_path):
    """A short analysed video in a fresh store, with its view at the default tuning."""
    conn = store.open_store(tmp_path / "s.sqlite")
    record = analyze_video(astronaut_video(tmp_path / "talk.mp4", seconds=2.0), conn, BrightnessScorer()).record
    return conn, Settings(tmp_path / "home"), record


def view_of(conn, record) -> actions.VideoView:
    return actions.open_video(conn, record, SmoothingParams())


def test_the_export_button_refuses_with_a_reason_and_writes_nothing(video):
    conn, settings, record = video
    view = view_of(conn, record)
    with pytest.raises(ReviewError, match="no accepted or added segments"):
        actions.export_video(conn, settings, "clips", view, actions.ClipOptions())
    review.add(conn, record.sha256, 0.5, 1.0, "ana")
    view = view_of(conn, record)
    with pytest.raises(BlurError, match="choose the frame-accurate cut"):
        actions.export_video(conn, settings, "reel", view, actions.ClipOptions(mode="copy"), blur=True)
    with pytest.raises(FinetuneExportError, match="crop framing is unknown"):
        actions.export_video(conn, settings, "finetune", view, actions.ClipOptions(), card=None)
    assert not settings.exports_dir.exists()


def test_the_export_button_says_what_it_wrote_and_whom_it_blurred(video):
    conn, settings, record = video
    review.add(conn, record.sha256, 0.5, 1.0, "ana")
    view = view_of(conn, record)
    clips = actions.export_video(conn, settings, "clips", view, actions.ClipOptions(), blur=True)
    assert [p.suffix for p in clips.paths] == [".mp4"] and all(p.is_file() for p in clips.paths)
    assert (
        clips.notes[0].startswith("blurred the faces of raw track(s) ") and clips.notes[-1] == f"wrote 1 file(s) to {clips.paths[0].parent}"
    )
    lists = actions.export_video(conn, settings, "lists", view, actions.ClipOptions())
    assert sorted(p.suffix for p in lists.paths) == [".csv", ".edl", ".json", ".srt"] and len(lists.notes) == 1


def test_a_file_that_cannot_be_written_is_refused_like_any_other_export(video):
    conn, settings, record = video
    settings.home.mkdir()
    settings.exports_dir.write_text("a file where the exports folder goes")
    with pytest.raises(LaughvidError):
        actions.export_video(conn, settings, "lists", view_of(conn, record), actions.ClipOptions())


def test_unsure_moments_are_this_videos_unreviewed_ones(video):
    conn, _, record = video
    moments = actions.unsure_moments(conn, record.sha256, SmoothingParams(), count=3)
    assert 0 < len(moments) <= 3 and {m.video_sha256 for m in moments} == {record.sha256}, "the brightness scorer is unsure of the face"
    assert actions.unsure_moments(conn, "another video", SmoothingParams()) == []
    page = actions.unsure_moments(conn, record.sha256, SmoothingParams(on_threshold=0.83))
    assert all("threshold 0.83" in m.why for m in page if "uncertain" in m.why), "ranked against the threshold the page shows"
    review.mark_complete(conn, record.sha256, "ana")
    assert actions.unsure_moments(conn, record.sha256, SmoothingParams()) == [], "a fully reviewed video has nothing to check"


def test_the_view_counts_review_states_and_knows_a_missing_file(video, tmp_path):
    conn, _, record = video
    review.accept(conn, record.sha256, ReviewedSegment(Segment(0.2, 0.4, 0.9, 0.9, ())), "ana")
    view = view_of(conn, record)
    assert view.counts()["accepted"] == 1 and view.problem is None and not view.completed
    (tmp_path / "talk.mp4").unlink()
    assert "no longer there" in view_of(conn, record).problem


def test_the_export_button_cuts_only_the_biggest_laughs_numbered_biggest_first(video):
    conn, settings, record = video
    for start in (0.1, 0.7, 1.3):
        review.add(conn, record.sha256, start, start + 0.4, "ana")
    view = view_of(conn, record)
    view.items[:] = [  # the astronaut smiles alike all along: give the three laughs known peaks
        ReviewedSegment(Segment(i.start_s, i.end_s, 0.9, 0.8, peak_intensity={0.1: 0.2, 0.7: None, 1.3: 0.8}[i.start_s]), i.state)
        for i in view.items
    ]
    clips = actions.export_video(conn, settings, "clips", view, actions.ClipOptions(0, 0), top=2)
    assert [p.name for p in clips.paths] == ["talk_clip01_1.30-1.70.mp4", "talk_clip02_0.10-0.50.mp4"]  # None: after every known one
    assert clips.notes[0] == "the 2 biggest laugh(s) by peak intensity, clip01 the biggest"


def test_activating_a_model_the_gate_kept_out_from_the_app_says_so_and_logs_it_as_the_cli_does(tmp_path):
    """The app activated it as "review app" and said only "active model: ...", where `models activate`
    warns and logs "against the promotion gate"."""
    from laughvid.config import SHIPPED_MODEL_DIR
    from laughvid.lifecycle import registry

    conn = store.open_store(tmp_path / "s.sqlite")
    gate = ["Promotion gate: no frozen validation split to compare on -> KEEP smile-v1"]
    registry.register(conn, registry.ModelRecord("smile-v1", str(SHIPPED_MODEL_DIR)))
    registry.register(conn, registry.ModelRecord("smile-ft", str(SHIPPED_MODEL_DIR), parent="smile-v1", gate=gate))
    assert actions.activate_model(conn, "smile-v1") == "smile-v1"
    said = actions.activate_model(conn, "smile-ft")
    assert said.startswith("smile-ft, which the promotion gate kept out") and "models show smile-ft" in said
    assert [reason for _, _, reason in registry.activation_log(conn)] == ["review app", "review app, against the promotion gate"]
