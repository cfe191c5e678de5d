"""Highlight clips, reel and segment lists: durations probed with PyAV, file contents parsed back."""

from __future__ import annotations

import csv
import io
import json

import av
import pytest

from laughvid.export.clips import ClipOptions, ClipWindow, ExportError, clip_window, export_clips, export_reel, merge_windows
from laughvid.export.lists import ListSource, srt_time, timecode, to_csv, to_edl, to_json, to_srt, write_lists
from laughvid.types import ReviewedSegment, Segment
from tests.media import synthetic_video

FPS = 25
SECONDS = 8.0


def video_span(path) -> tuple[float, float, int]:
    """(first frame time, video duration = last - first + one frame, frame count) of a file's video stream."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        times = [frame.time for frame in container.decode(stream)]
        rate = float(stream.average_rate)
    return times[0], times[-1] - times[0] + 1 / rate, len(times)


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return synthetic_video(tmp_path_factory.mktemp("src") / "talk.mp4", seconds=SECONDS, fps=FPS, audio=True)


def seg(a: float, b: float, peak: float = 0.9) -> Segment:
    return Segment(a, b, peak, peak - 0.1, (1,))


def test_default_pre_roll_is_longer_than_post_roll():
    options = ClipOptions()
    assert options.pre_roll_s > options.post_roll_s


def test_window_is_padded_and_clamped_at_both_ends():
    options = ClipOptions(pre_roll_s=2.0, post_roll_s=1.0)
    assert clip_window(seg(3.0, 4.0), SECONDS, options) == ClipWindow(1.0, 5.0)
    assert clip_window(seg(0.0, 1.0), SECONDS, options) == ClipWindow(0.0, 2.0)  # segment at 0 s
    assert clip_window(seg(7.5, SECONDS), SECONDS, options) == ClipWindow(5.5, SECONDS)  # at the end


def test_bad_segments_and_options_are_refused_with_a_reason():
    with pytest.raises(ExportError, match="outside the video"):
        clip_window(seg(9.0, 10.0), SECONDS, ClipOptions())
    with pytest.raises(ExportError, match="empty"):
        clip_window(seg(2.0, 2.0), SECONDS, ClipOptions())
    with pytest.raises(ValueError, match="pre/post-roll"):
        ClipOptions(pre_roll_s=-1)
    with pytest.raises(ValueError, match="mode"):
        ClipOptions(mode="fast")


def test_overlapping_windows_merge_for_the_reel():
    merged = merge_windows([ClipWindow(4, 6), ClipWindow(0, 2), ClipWindow(1.5, 3), ClipWindow(6, 7)])
    assert merged == [ClipWindow(0, 3), ClipWindow(4, 7)]


def test_reencoded_clips_are_frame_accurate(video, tmp_path):
    options = ClipOptions(pre_roll_s=1.5, post_roll_s=0.5)
    segments = [seg(0.0, 1.0), seg(2.0, 3.2), seg(2.5, 4.0), seg(7.0, SECONDS)]  # at 0, overlapping, at end
    clips = export_clips(video, segments, SECONDS, tmp_path, options)
    assert len(clips) == 4 and all(c.path.is_file() for c in clips)
    for clip in clips:
        start, duration, _ = video_span(clip.path)
        assert start == pytest.approx(0, abs=1 / FPS)
        assert duration == pytest.approx(clip.window.duration_s, abs=1 / FPS), clip.path.name
    assert [c.window for c in clips] == [ClipWindow(0, 1.5), ClipWindow(0.5, 3.7), ClipWindow(1.0, 4.5), ClipWindow(5.5, SECONDS)]
    with av.open(str(clips[0].path)) as container:
        assert container.streams.audio, "audio is kept"


def test_stream_copy_is_fast_path_that_still_covers_the_segment(video, tmp_path):
    (clip,) = export_clips(video, [seg(3.0, 4.0)], SECONDS, tmp_path, ClipOptions(mode="copy"))
    _, duration, _ = video_span(clip.path)
    assert clip.window.start_s <= 3.0 - 2.0 and clip.window.end_s == pytest.approx(4.0 + 1.0)
    assert duration == pytest.approx(clip.window.duration_s, abs=1 / FPS)  # the window says what the file holds


def test_reel_joins_merged_windows_without_repeating_footage(video, tmp_path):
    options = ClipOptions(pre_roll_s=1.0, post_roll_s=0.5)
    reel = export_reel(video, [seg(5.0, 6.0), seg(1.0, 2.0), seg(2.2, 3.0)], SECONDS, tmp_path / "reel.mp4", options)
    assert reel.windows == (ClipWindow(0.0, 3.5), ClipWindow(4.0, 6.5))
    _, duration, _ = video_span(reel.path)
    assert duration == pytest.approx(reel.duration_s, abs=2 / FPS)  # one frame per joined piece at most
    with pytest.raises(ExportError, match="no segments"):
        export_reel(video, [], SECONDS, tmp_path / "empty.mp4", options)


def test_broken_source_gives_a_clear_error(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    with pytest.raises(ExportError, match="ffmpeg failed to write"):
        export_clips(bad, [seg(0, 1)], 5.0, tmp_path / "out")


REVIEWED = [
    ReviewedSegment(seg(61.0, 62.5), "accepted", "auto", "ana", "2026-11-25T10:00:00+00:00", 3),
    ReviewedSegment(seg(1.0, 2.0, 0.8), "added", "manual", "ana", "2026-11-25T10:01:00+00:00", 4),
]
SOURCE = ListSource(name="talk show.mp4", fps=25, sha256="ab" * 32, model_version="smile-v1-test")


def test_csv_and_json_agree_and_are_in_time_order():
    table = list(csv.DictReader(io.StringIO(to_csv(REVIEWED))))
    document = json.loads(to_json(REVIEWED, SOURCE))
    assert [r["start_s"] for r in table] == ["1.0", "61.0"]
    assert [r["start_s"] for r in document["segments"]] == [1.0, 61.0]
    assert table[1]["state"] == "accepted" and table[1]["reviewer"] == "ana" and table[1]["track_ids"] == "1"
    assert document["sha256"] == "ab" * 32 and document["model_version"] == "smile-v1-test"
    assert float(table[1]["duration_s"]) == pytest.approx(1.5)


def test_srt_blocks_have_valid_timestamps():
    assert srt_time(3725.5) == "01:02:05,500"
    text = to_srt(REVIEWED)
    blocks = text.strip().split("\n\n")
    assert len(blocks) == 2
    assert blocks[1].splitlines()[:2] == ["2", "00:01:01,000 --> 00:01:02,500"]


def test_edl_is_cmx3600_with_matching_source_and_record_lengths():
    assert timecode(25 * 3661 + 7, 25) == "01:01:01:07"
    lines = to_edl(REVIEWED, SOURCE).splitlines()
    assert lines[0] == "TITLE: talk show" and lines[1] == "FCM: NON-DROP FRAME"
    events = [line.split() for line in lines if line[:3].isdigit()]
    assert [e[0] for e in events] == ["001", "002"]
    assert events[0][4:] == ["00:00:01:00", "00:00:02:00", "01:00:00:00", "01:00:01:00"]
    assert events[1][4:] == ["00:01:01:00", "00:01:02:12", "01:00:01:00", "01:00:02:12"]  # laid end to end
    assert "* FROM CLIP NAME: talk show.mp4" in lines


def test_srt_and_edl_hold_the_laughs_unless_all_states_are_asked_for(tmp_path):
    judged = [
        *REVIEWED,
        ReviewedSegment(seg(5.0, 6.0), "rejected", "auto", "ana", "2026-11-25T10:02:00+00:00", 5),
        ReviewedSegment(seg(8.0, 9.0)),
    ]
    paths = write_lists(judged, SOURCE, tmp_path)
    assert paths["srt"].read_text().count(" --> ") == 2 and "rejected" not in paths["srt"].read_text()
    assert "pending" not in paths["edl"].read_text() and paths["edl"].read_text().count("* FROM CLIP NAME") == 2
    assert len(list(csv.DictReader(paths["csv"].open()))) == 4  # the table keeps every segment with its state
    paths = write_lists(judged, SOURCE, tmp_path, all_states=True)
    srt, edl = paths["srt"].read_text(), paths["edl"].read_text()
    captions = [block.splitlines()[2] for block in srt.strip().split("\n\n")]
    assert captions == [
        "Laugh (added in review, peak 0.80)",
        "Not a laugh (rejected in review, the model's peak 0.90)",  # it said "Laugh (rejected, ...)"
        "Possible laugh (not reviewed, peak 0.90)",
        "Laugh (accepted, peak 0.90)",
    ]
    assert [line.removeprefix("* COMMENT: ") for line in edl.splitlines() if line.startswith("* COMMENT")] == captions


def test_plain_segments_export_as_pending(tmp_path):
    paths = write_lists([seg(1, 2)], SOURCE, tmp_path)
    assert sorted(paths) == ["csv", "edl", "json", "srt"]
    assert all(p.name.startswith("talk show_segments.") for p in paths.values())
    assert json.loads(paths["json"].read_text())["segments"][0]["state"] == "pending"


def test_clips_of_phone_videos_play_upright(tmp_path):
    from laughvid.pipeline.decode import probe
    from tests.media import rotated_video

    video = rotated_video(tmp_path / "phone.mp4", rotation=90, seconds=3.0)
    for mode in ("reencode", "copy"):
        (clip,) = export_clips(video, [seg(1.0, 2.0)], 3.0, tmp_path / mode, ClipOptions(mode=mode))
        info = probe(clip.path)
        assert (info.width, info.height) == (640, 360), mode  # upright: pixels turned (re-encode) or tag kept (copy)
