import weakref

import av
import numpy as np
import pytest
from media import (
    astronaut_video,
    audio_only,
    audio_with_cover,
    corrupted_copy,
    face_box_in_frame,
    faststart_video,
    not_a_video,
    rotated_video,
    run_ffmpeg,
    single_frame_stream,
    still_image,
    synthetic_video,
    truncated_copy,
    vfr_times,
    vfr_video,
    zero_length,
)

from laughvid.pipeline.analyze import PREFETCH_DEPTH, _prefetch
from laughvid.pipeline.decode import DecodeReport, VideoError, frames_at, iter_batches, probe, upright
from laughvid.pipeline.faces.detector import FaceDetector


def _decode(path, **kwargs):
    report = DecodeReport()
    batches = list(iter_batches(path, report=report, **kwargs))
    frames = np.concatenate([b.frames for b in batches]) if batches else np.zeros((0,))
    times = np.concatenate([b.times_s for b in batches]) if batches else np.zeros((0,))
    return frames, times, report


@pytest.fixture(scope="module")
def face_clip(tmp_path_factory):
    return astronaut_video(tmp_path_factory.mktemp("decode") / "face.mp4", seconds=2, audio=True)


def test_probe_reports_size_rate_duration_audio(face_clip):
    info = probe(face_clip)
    assert (info.width, info.height, info.rotation, info.has_audio) == (640, 360, 0, True)
    assert info.fps == pytest.approx(30) and info.duration_s == pytest.approx(2.0, abs=0.05)
    assert info.frame_count == 60


def test_samples_at_the_analysis_rate_in_batches(face_clip):
    batches = list(iter_batches(face_clip, fps=10, batch_size=8))
    assert [len(b) for b in batches] == [8, 8, 4]
    times = np.concatenate([b.times_s for b in batches])
    np.testing.assert_allclose(times, np.arange(20) / 10, atol=1e-6)
    assert batches[0].frames.shape == (8, 360, 640, 3) and batches[0].frames.dtype == np.uint8


@pytest.mark.parametrize("backend", ["pyav", "decord"])
def test_backends_agree_on_times_and_pixels(face_clip, backend):
    frames, times, _ = _decode(face_clip, backend=backend)
    ref_frames, ref_times, _ = _decode(face_clip, backend="pyav")
    np.testing.assert_allclose(times, ref_times, atol=1e-3)
    assert np.abs(frames.astype(int) - ref_frames.astype(int)).mean() < 3  # colour conversion rounding only


def test_vfr_uses_presentation_timestamps(tmp_path):
    video = vfr_video(tmp_path / "vfr.mp4")  # 30 frames at 30 fps, then 10 frames at 5 fps
    _, times, _ = _decode(video, fps=10)
    written = vfr_times()
    expected = np.concatenate([written[:30:3], written[30:]])  # 10 fps grid, then every slow frame
    np.testing.assert_allclose(times, expected, atol=2e-3)
    # index / average fps would put the last frame at 1.5 s of a 2.8 s video
    assert times[-1] == pytest.approx(2.8, abs=2e-3)


@pytest.mark.parametrize("rotation", [90, -90])
def test_rotated_phone_video_is_decoded_upright(tmp_path, rotation):
    video = rotated_video(tmp_path / "rot.mp4", rotation=rotation, seconds=1.0, fps=10)
    info = probe(video)
    assert (info.width, info.height, info.rotation) == (640, 360, rotation % 360)
    frames, times, _ = _decode(video)
    assert frames.shape[1:] == (360, 640, 3)
    faces = FaceDetector().detect(frames[5])
    expected = face_box_in_frame(float(times[5]), 1.0, (640, 360), 120)
    assert len(faces) == 1
    np.testing.assert_allclose(faces[0].box, expected, atol=12)
    with pytest.raises(VideoError, match="rotat"):
        _decode(video, backend="decord")


def test_4k_is_downscaled_to_max_side(tmp_path):
    video = synthetic_video(tmp_path / "4k.mp4", seconds=0.5, size=(3840, 2160), fps=10)
    info = probe(video)
    assert (info.width, info.height) == (3840, 2160)
    frames, times, _ = _decode(video, max_side=1280)
    assert frames.shape[1:] == (720, 1280, 3) and len(times) == 5


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: zero_length(p / "empty.mp4"), "empty"),
        (lambda p: not_a_video(p / "notes.mp4"), "not a readable video"),
        (lambda p: audio_only(p / "voice.m4a"), "no video stream"),
        (lambda p: truncated_copy(astronaut_video(p / "full.mp4", seconds=1), p / "cut.mp4"), "not a readable video"),
        (lambda p: p / "missing.mp4", "not found"),
        (lambda p: still_image(p / "photo.mp4", ".png"), r"still image \(PNG data\), not a video"),
        (lambda p: still_image(p / "photo.mov", ".jpg"), r"still image \(JPEG data\), not a video"),
        (lambda p: audio_with_cover(p / "song.m4a"), "no video stream, only a still cover picture"),
        (lambda p: single_frame_stream(p / "one.h264"), "single h264 image with no duration, not a video"),
    ],
    ids=[
        "zero-length",
        "not-a-video",
        "audio-only",
        "truncated-index-at-end",
        "missing",
        "png-renamed-mp4",
        "jpeg-renamed-mov",
        "cover-art-only",
        "one-frame-no-duration",
    ],
)
def test_bad_files_give_clear_errors(tmp_path, make, message):
    with pytest.raises(VideoError, match=message):
        probe(make(tmp_path))


def test_truncated_file_decodes_the_readable_part_with_a_warning(tmp_path):
    full = faststart_video(tmp_path / "fs.mp4", seconds=2.0, fps=10)
    cut = truncated_copy(full, tmp_path / "cut.mp4", fraction=0.6)
    _, times, report = _decode(cut)
    assert 0 < len(times) < 20
    assert any("truncated" in w for w in report.warnings)


def test_corrupt_data_mid_file_is_skipped_and_the_rest_decoded(tmp_path):
    video = corrupted_copy(astronaut_video(tmp_path / "ok.mp4", seconds=4, fps=10), tmp_path / "damaged.mp4")
    _, times, report = _decode(video)
    assert times[-1] == pytest.approx(3.9) and 30 < len(times) < 40
    assert any("corrupt" in w for w in report.warnings)


def test_resume_after_a_time_continues_exactly(face_clip):
    frames, times, _ = _decode(face_clip)
    tail_frames, tail_times, _ = _decode(face_clip, start_after_s=float(times[11]))
    np.testing.assert_allclose(tail_times, times[12:])
    assert np.array_equal(tail_frames, frames[12:])


@pytest.mark.parametrize(
    "keyframe_every", [0, 15], ids=["one keyframe: nothing decodes after the seek", "keyframe every 0.5 s: decoding shows a later frame"]
)
def test_a_seek_that_lands_past_its_target_loses_no_frames_in_resume_or_frames_at(tmp_path, keyframe_every):
    """MPEG-TS (.ts, camcorder .mts) has no index: a seek lands past the keyframe before its target and
    the decoder shows nothing until the next keyframe, or nothing at all after the last one. Both readers
    that seek decode from the start instead: a resumed analysis silently lacked the rest of the video, and
    face thumbnails, contact sheets and fine-tune crops (`frames_at`) came back empty."""
    clip = astronaut_video(tmp_path / "camcorder.ts", seconds=2, keyframe_every=keyframe_every)
    frames, times, _ = _decode(clip, batch_size=4)
    with av.open(str(clip)) as container:  # the premise: this file's seeks really do land past their target
        stream = container.streams.video[0]
        for i in (3, 11):
            container.seek(int(float(times[i]) / stream.time_base), stream=stream, backward=True)
            first = next((f.time for f in container.decode(stream) if f.time is not None), None)
            assert first is None if keyframe_every == 0 else first > times[i] + 0.01
    for resume_at in (3, 11):
        tail_frames, tail_times, report = _decode(clip, batch_size=4, start_after_s=float(times[resume_at]))
        np.testing.assert_allclose(tail_times, times[resume_at + 1 :])
        assert np.array_equal(tail_frames, frames[resume_at + 1 :]) and not report.warnings
    wanted = [3, 4, 11, 18]
    found = list(frames_at(clip, 0, [float(times[i]) for i in wanted]))
    assert [t for t, _ in found] == [float(times[i]) for i in wanted]
    for (_, frame), i in zip(found, wanted, strict=True):
        assert np.abs(frame.astype(int) - frames[i].astype(int)).mean() < 3  # colour conversion rounding only


def test_batch_memory_is_reused_only_once_nobody_holds_the_batch(face_clip):
    """Decoding into reused batch arrays (no fresh memory to fault in per batch) must never overwrite
    a batch the caller still holds, and must give the same pixels as fresh arrays."""
    held = list(iter_batches(face_clip, fps=10, batch_size=4))  # 5 batches, all kept
    assert not any(np.shares_memory(a.frames, b.frames) for i, a in enumerate(held) for b in held[i + 1 :])
    seen, reused = [], 0
    for batch in iter_batches(face_clip, fps=10, batch_size=4):  # each batch dropped before the next
        array = batch.frames if batch.frames.base is None else batch.frames.base
        reused += any(ref() is array for ref in seen)
        seen.append(weakref.ref(array))
        np.testing.assert_array_equal(batch.frames, held[len(seen) - 1].frames)
    assert len(seen) == 5 and reused >= 3


def test_frames_analysis_would_not_look_at_are_left_undecoded_and_the_analysed_ones_are_unchanged(tmp_path):
    """Non-reference H.264 frames that are not the first of their sampling slot are never decoded
    (no other frame is predicted from them); the frames analysed are the same, pixel for pixel."""
    clip = astronaut_video(tmp_path / "b_frames.mp4", seconds=2, b_frames=3)
    every, every_times, every_report = _decode(clip, fps=1000)  # a slot per frame: every frame decoded
    frames, times, report = _decode(clip, fps=10)
    assert every_report.frames_decoded == 60 and report.frames_decoded < 50  # x264's B-frames are non-reference
    np.testing.assert_allclose(times, np.arange(20) / 10, atol=1e-6)
    for frame, t in zip(frames, times, strict=True):
        [same_time] = np.flatnonzero(np.abs(every_times - t) < 1e-6)
        assert np.array_equal(frame, every[same_time])


@pytest.mark.parametrize(
    "backend, rotation, max_side",
    [("pyav", 0, None), ("pyav", 90, 320), ("decord", 0, 320)],
    ids=["pyav", "pyav-rotated-resized", "decord-resized"],
)
def test_frames_kept_by_consumers_are_never_overwritten_by_later_batches(tmp_path, backend, rotation, max_side):
    """Consumers keep parts of batches the way analysis does (a frame view, a face crop view, a weak
    reference to a frame, the times only), through the decode thread, with a short last batch: whatever
    they still hold must keep its pixels while later batches are decoded into reused arrays."""
    video = rotated_video(tmp_path / "v.mp4", rotation=rotation, seconds=2.0, fps=10) if rotation else astronaut_video(tmp_path / "v.mp4")
    kwargs = {"fps": 10, "batch_size": 3, "max_side": max_side, "backend": backend}
    fresh, _, _ = _decode(video, **kwargs)  # every batch held: no reuse
    kept, weak, times, arrays = {}, [], [], []
    for n, batch in enumerate(_prefetch(iter_batches(video, **kwargs), PREFETCH_DEPTH)):
        first = 3 * n
        if n % 2 == 1:
            kept[first] = batch.frames[0]  # a frame, as the tracker's keyframe or a crop call takes it
        if n == 4:
            kept[first + len(batch) - 1] = batch.frames[-1, 10:50, 20:80]  # a face crop view of the last frame
        weak.append(weakref.ref(batch.frames[len(batch) // 2]))  # as FaceFinder remembers a frame: holds nothing
        times.append(batch.times_s)
        base = batch.frames if batch.frames.base is None else batch.frames.base
        arrays.append(id(base))
        del batch, base
    assert sum(len(t) for t in times) == len(fresh) == 20 and len(times[-1]) == 2  # a short last batch
    assert len(set(arrays)) < len(arrays), "later batches reused an array (else this test proves nothing)"
    for i, view in kept.items():
        expected = fresh[i] if view.shape == fresh[i].shape else fresh[i, 10:50, 20:80]
        np.testing.assert_array_equal(view, expected, err_msg=f"frame {i} was overwritten while a consumer held it")


def test_a_picture_size_that_changes_part_way_is_analysed_whole_at_the_first_size(tmp_path):
    """A camera switching resolution, or files joined by copying: the analysis used to fail with a
    numpy broadcasting error; now every frame comes at the first size, with a warning saying where."""
    parts = [astronaut_video(tmp_path / f"{w}.ts", seconds=1.0, size=(w, h), fps=10) for w, h in [(640, 360), (480, 270)]]
    (tmp_path / "list.txt").write_text("".join(f"file '{p.name}'\n" for p in parts))
    video = tmp_path / "joined.ts"
    run_ffmpeg("-f", "concat", "-safe", "0", "-i", tmp_path / "list.txt", "-c", "copy", video)
    frames, times, report = _decode(video, fps=10, batch_size=4)
    assert frames.shape == (20, 360, 640, 3)
    assert report.warnings == [
        f"the picture size changes at {times[10]:.2f} s (640x360 -> 480x270); frames from there on were analysed scaled to the first size"
    ]
    [face] = FaceDetector().detect(frames[15])  # the 480x270 part, scaled up: the face where it is in the picture
    expected = np.array(face_box_in_frame(float(times[15] - times[10]), 1.0, (480, 270), 120)) * 640 / 480
    np.testing.assert_allclose(face.box, expected, atol=16)


@pytest.mark.parametrize("rotation", [0, 90, 180, 270, -90])
def test_upright_turns_frames_exactly_as_rot90_into_a_new_array_or_the_given_one(rotation):
    frame = np.random.default_rng(0).integers(0, 256, (36, 64, 3), dtype=np.uint8)
    expected = np.rot90(frame, (rotation // 90) % 4)
    assert np.array_equal(upright(frame, rotation), expected)
    dst = np.zeros(expected.shape, np.uint8)
    assert upright(frame, rotation, dst) is dst and np.array_equal(dst, expected)


def test_decord_on_a_few_pixel_video_says_to_use_pyav(tmp_path):
    """decord fails to copy out frames of a few-pixel video: a clear message, not its internal check."""
    video = tmp_path / "tiny.mp4"
    run_ffmpeg("-f", "lavfi", "-i", "color=c=blue:size=3x5:rate=10:duration=1", "-c:v", "libx264", "-pix_fmt", "yuv444p", video)
    with pytest.raises(VideoError, match=r"decord cannot decode this 3x5 video; use the pyav backend"):
        _decode(video, backend="decord")
    frames, _, _ = _decode(video)
    assert frames.shape == (10, 5, 3, 3)


def test_resume_continues_exactly_when_frames_are_left_undecoded(tmp_path):
    clip = astronaut_video(tmp_path / "b_frames.mp4", seconds=3, b_frames=3)
    frames, times, _ = _decode(clip, batch_size=7)
    for cut in (5, 16):
        tail_frames, tail_times, _ = _decode(clip, batch_size=7, start_after_s=float(times[cut]))
        np.testing.assert_allclose(tail_times, times[cut + 1 :])
        assert np.array_equal(tail_frames, frames[cut + 1 :])
