"""Progress and cancel for long exports (issue 12: a blurred 1080p export ran 43 s with no progress and
no way to stop it). Cancels are set from the progress callback at a known point, so no test waits on
the clock: what is checked is what a user finds on disk and is told."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from media import astronaut_video, face_box_in_frame, synthetic_video

from laughvid.errors import ExportCancelled
from laughvid.export.clips import ClipOptions, clip_name, clip_window, export_clips, export_reel
from laughvid.export.crops import VideoSource, export_finetune_set, plan_crops, read_manifest
from laughvid.export.progress import ExportProgress
from laughvid.governance.face_blur import FaceBlur
from laughvid.pipeline.faces.crop import Framing
from laughvid.types import FaceObservation, FaceTrack, ReviewedSegment, ScoreCache, Segment

SECONDS, SIZE, FPS, FACE_PX = 6.0, (320, 180), 15, 60
OPTIONS = ClipOptions(pre_roll_s=0.5, post_roll_s=0.5)
SEGMENTS = [Segment(0.5, 2.0, 0.9, 0.8, (1,)), Segment(3.5, 5.0, 0.9, 0.8, (1,))]


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return astronaut_video(tmp_path_factory.mktemp("src") / "talk.mp4", seconds=SECONDS, size=SIZE, fps=FPS, face_px=FACE_PX, audio=True)


@pytest.fixture(scope="module")
def blur():
    """The astronaut's face, as the analysis would have found it, to be blurred."""
    times = np.round(np.arange(0, SECONDS, 0.2), 6)
    return FaceBlur((FaceTrack(1, [FaceObservation(float(t), 1, face_box_in_frame(t, SECONDS, SIZE, FACE_PX), 0.9) for t in times]),))


def leftovers(folder) -> list[str]:
    """Temp files an export would leave behind if it did not clean up."""
    return sorted(p.name for p in folder.rglob(".tmp*")) if folder.exists() else []


def test_progress_grows_to_the_end_through_every_clip_and_its_blur(video, blur, tmp_path):
    seen: list[ExportProgress] = []
    clips = export_clips(video, SEGMENTS, SECONDS, tmp_path, OPTIONS, blur, progress=seen.append)
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    phrases = " | ".join(p.phrase for p in seen)
    for n in (1, 2):
        assert f"clip {n} of 2: cutting" in phrases and f"clip {n} of 2: blurring faces" in phrases
    within = [p for p in seen if "clip 2 of 2: blurring" in p.phrase]
    assert within[-1].done_s == pytest.approx(within[-1].total_s, abs=1.5 / FPS)  # the blur reports the clip's frames
    assert any("cutting" in p.phrase and 0 < p.done_s for p in seen)  # ffmpeg's own out_time is read
    assert seen[-1].phrase == "2 clip(s) written" and len(clips) == 2


def test_reel_progress_covers_pieces_join_and_blur(video, blur, tmp_path):
    seen: list[ExportProgress] = []
    export_reel(video, SEGMENTS, SECONDS, tmp_path / "reel.mp4", OPTIONS, blur, progress=seen.append)
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    phrases = [p.phrase for p in seen]
    assert any(p.startswith("reel piece 2 of 2: cutting") for p in phrases)
    assert any(p.startswith("reel: joining") for p in phrases) and any(p.startswith("reel: blurring faces") for p in phrases)


def cancel_when(condition) -> tuple[threading.Event, list[ExportProgress], object]:
    """A cancel token set by the progress report that meets `condition`, as a Cancel button would be."""
    cancel, seen = threading.Event(), []

    def progress(p: ExportProgress) -> None:
        seen.append(p)
        if condition(p):
            cancel.set()

    return cancel, seen, progress


@pytest.mark.parametrize("step", ["cutting", "blurring faces"])
def test_a_cancel_mid_clip_keeps_finished_clips_and_leaves_no_partial_file(video, blur, tmp_path, step):
    """Cancelled while clip 2 is being cut by ffmpeg (after it reported time written) or blurred
    (after a batch of frames): clip 1 stays, clip 2's name keeps the file it had, no temp file."""
    out = tmp_path / "clips"
    out.mkdir()
    second = out / clip_name(video, 2, clip_window(SEGMENTS[1], SECONDS, OPTIONS))
    second.write_bytes(b"an earlier export of clip 2")
    cancel, seen, progress = cancel_when(lambda p: p.phrase.startswith(f"clip 2 of 2: {step}") and p.done_s > 0)
    with pytest.raises(ExportCancelled, match="1 of 2 clip") as caught:
        export_clips(video, SEGMENTS, SECONDS, out, OPTIONS, blur, progress, cancel)
    (first,) = caught.value.written
    assert first.name.startswith("talk_clip01_") and first.stat().st_size > 1000
    assert sorted(p.name for p in out.iterdir()) == sorted([first.name, second.name])
    assert second.read_bytes() == b"an earlier export of clip 2"
    assert leftovers(out) == []
    assert seen[-1].fraction < 1.0  # never reported as done


def test_a_cancel_before_any_clip_writes_nothing(video, tmp_path):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(ExportCancelled, match="0 of 2 clip") as caught:
        export_clips(video, SEGMENTS, SECONDS, tmp_path / "clips", OPTIONS, cancel=cancel)
    assert caught.value.written == ()
    assert not (tmp_path / "clips").exists() or list((tmp_path / "clips").iterdir()) == []


def test_a_cancelled_blurred_reel_keeps_the_previous_reel(video, blur, tmp_path):
    reel = tmp_path / "reel.mp4"
    reel.write_bytes(b"yesterday's reel")
    cancel, _, progress = cancel_when(lambda p: p.phrase.startswith("reel: blurring faces") and p.done_s > 0)
    with pytest.raises(ExportCancelled, match="no reel written"):
        export_reel(video, SEGMENTS, SECONDS, reel, OPTIONS, blur, progress, cancel)
    assert reel.read_bytes() == b"yesterday's reel"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reel.mp4"]


def test_a_cancelled_fine_tune_export_leaves_the_set_as_it_was(tmp_path):
    video = synthetic_video(tmp_path / "pattern.mp4", seconds=4, size=(320, 240), fps=10)
    times = np.round(np.arange(0, 4, 0.1), 6)
    n = len(times)
    box = (100.0, 60.0, 200.0, 180.0)
    cache = ScoreCache(times, times, np.ones(n, np.int64), np.tile(box, (n, 1)), np.ones(n), np.full(n, 0.9), np.ones(n, bool))
    items = [ReviewedSegment(Segment(0.0, 1.5, 0.9, 0.8, (1,)), "accepted", reviewer="ana")]
    items.append(ReviewedSegment(Segment(2.0, 3.9, 0.2, 0.1, (1,)), "rejected", reviewer="ana"))
    plan = plan_crops(items, cache)
    source = VideoSource(str(video), "ab" * 32, 0, "test")
    root = tmp_path / "set"
    seen: list[ExportProgress] = []
    first = export_finetune_set(root, source, plan[:2], Framing(), progress=seen.append)
    assert [p.fraction for p in seen] == sorted(p.fraction for p in seen) and seen[-1].fraction == 1.0
    before = {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    cancel, _, progress = cancel_when(lambda p: p.done_s >= 2.0)
    with pytest.raises(ExportCancelled, match="fine-tune set is as it was"):
        export_finetune_set(root, source, plan, Framing(), progress=progress, cancel=cancel)
    assert {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()} == before
    assert len(read_manifest(root)) == len(first.rows) and leftovers(root) == []
