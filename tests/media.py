"""Small generated videos for tests (shared by all modules' tests).

Everything is made with the ffmpeg binary we depend on (imageio-ffmpeg), so tests need no data on
disk. The face is `skimage.data.astronaut()` (public domain, NASA): a real, smiling, frontal face
that the BlazeFace detector finds with high confidence.

All writers take the output path first and return it, so tests read as
`video = astronaut_video(tmp_path / "a.mp4", seconds=2)`.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np

# The astronaut's face inside the 512x512 photo (BlazeFace box, rounded) and the square patch we
# paste into frames: the face sits in the patch's upper middle, like a head-and-shoulders shot.
ASTRONAUT_FACE_BOX = (173, 68, 280, 174)
_PATCH = (96, 0, 352, 256)  # x0, y0, x1, y1 in the photo
BACKGROUND = 90  # grey level of the canvas around the face


def ffmpeg_exe() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


def run_ffmpeg(*args: str | Path, stdin: bytes | Iterable[bytes] | None = None) -> None:
    """Run ffmpeg quietly, feeding `stdin` (bytes or chunks, streamed so long videos need no big buffer).

    Raises with ffmpeg's stderr on failure so a broken fixture is obvious.
    """
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *map(str, args)]
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err
        )
        if stdin is not None:
            try:
                for chunk in [stdin] if isinstance(stdin, bytes) else stdin:
                    proc.stdin.write(chunk)
            except BrokenPipeError:
                pass  # ffmpeg stopped early; its exit code and stderr say why
            finally:
                proc.stdin.close()
        if proc.wait() != 0:
            err.seek(0)
            raise RuntimeError(f"ffmpeg failed ({proc.returncode}): {' '.join(cmd)}\n{err.read().decode(errors='replace')}")


_H264 = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
_AUDIO_SRC = ("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000")
_AUDIO_ENC = ("-c:a", "aac", "-shortest")


@cache
def _face_patch() -> np.ndarray:
    from skimage.data import astronaut

    x0, y0, x1, y1 = _PATCH
    return np.ascontiguousarray(astronaut()[y0:y1, x0:x1])


def face_box_in_frame(
    t: float, seconds: float, size: tuple[int, int], face_px: int, moving: bool = True
) -> tuple[float, float, float, float]:
    """Where `astronaut_video` draws the face at time t (upright pixels), for asserting boxes."""
    left, top, scale = _patch_place(t, seconds, size, face_px, moving)
    fx0, fy0, fx1, fy1 = ASTRONAUT_FACE_BOX
    px0, py0 = _PATCH[:2]
    return (left + (fx0 - px0) * scale, top + (fy0 - py0) * scale, left + (fx1 - px0) * scale, top + (fy1 - py0) * scale)


def _patch_place(t: float, seconds: float, size: tuple[int, int], face_px: int, moving: bool) -> tuple[int, int, float]:
    width, height = size
    scale = face_px / (ASTRONAUT_FACE_BOX[2] - ASTRONAUT_FACE_BOX[0])
    patch = round((_PATCH[2] - _PATCH[0]) * scale)
    travel = max(0, width - patch)
    frac = (t / seconds) if moving and seconds > 0 else 0.5
    return round(travel * frac), max(0, (height - patch) // 3), patch / (_PATCH[2] - _PATCH[0])


def astronaut_frames(
    seconds: float, size: tuple[int, int], fps: float, face_px: int, moving: bool = True, blank_spans: Iterable[tuple[float, float]] = ()
) -> Iterable[np.ndarray]:
    """RGB frames of the face sliding left to right on grey; no face inside `blank_spans` (seconds)."""
    width, height = size
    blanks = list(blank_spans)
    scale = face_px / (ASTRONAUT_FACE_BOX[2] - ASTRONAUT_FACE_BOX[0])
    patch_px = round((_PATCH[2] - _PATCH[0]) * scale)
    patch = cv2.resize(_face_patch(), (patch_px, patch_px), interpolation=cv2.INTER_AREA)
    for i in range(round(seconds * fps)):
        t = i / fps
        frame = np.full((height, width, 3), BACKGROUND, np.uint8)
        if not any(a <= t < b for a, b in blanks):
            left, top, _ = _patch_place(t, seconds, size, face_px, moving)
            h, w = min(patch_px, height - top), min(patch_px, width - left)
            frame[top : top + h, left : left + w] = patch[:h, :w]
        yield frame


def _encode_frames(
    path: Path, frames: Iterable[np.ndarray], size: tuple[int, int], fps: float, extra: tuple[str, ...] = (), audio: bool = False
) -> Path:
    width, height = size
    data = (np.ascontiguousarray(f).tobytes() for f in frames)
    inputs = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps), "-i", "pipe:0"]
    if audio:
        inputs += _AUDIO_SRC
    run_ffmpeg(*inputs, *_H264, *(_AUDIO_ENC if audio else ()), *extra, path, stdin=data)
    return Path(path)


def astronaut_video(
    path: str | Path,
    seconds: float = 2.0,
    size: tuple[int, int] = (640, 360),
    fps: float = 30,
    face_px: int = 120,
    moving: bool = True,
    blank_spans: Iterable[tuple[float, float]] = (),
    audio: bool = False,
    b_frames: int = 0,
    keyframe_every: int = 0,
) -> Path:
    """An H.264 MP4 with one real (smiling) face moving across the frame; `b_frames` as x264's -bf
    (0: none, as the ultrafast preset; most real files have some); `keyframe_every` frames as x264's -g
    (0: x264's 250, i.e. a short clip has one keyframe)."""
    frames = astronaut_frames(seconds, size, fps, face_px, moving, blank_spans)
    extra = (("-bf", str(b_frames)) if b_frames else ()) + (("-g", str(keyframe_every)) if keyframe_every else ())
    return _encode_frames(Path(path), frames, size, fps, extra, audio=audio)


def synthetic_video(
    path: str | Path, seconds: float = 2.0, size: tuple[int, int] = (320, 240), fps: float = 30, audio: bool = False
) -> Path:
    """ffmpeg's test pattern: a valid video with no faces in it."""
    width, height = size
    inputs = ["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={fps}:duration={seconds}"]
    if audio:
        inputs += _AUDIO_SRC
    run_ffmpeg(*inputs, *_H264, *(_AUDIO_ENC if audio else ()), path)
    return Path(path)


def rotated_video(
    path: str | Path,
    rotation: int = 90,
    seconds: float = 2.0,
    size: tuple[int, int] = (640, 360),
    fps: float = 30,
    face_px: int = 120,
    audio: bool = False,
) -> Path:
    """A phone-style video: pixels stored sideways plus a display-matrix rotation tag.

    Players (and PyAV's `frame.rotation`) turn it upright; decoders that ignore the tag (decord)
    see a sideways face. `rotation` is counter-clockwise degrees as ffmpeg's `-display_rotation`
    takes it; the displayed video equals `astronaut_video` with the same arguments.
    """
    path = Path(path)
    k = (rotation // 90) % 4
    stored = (size[1], size[0]) if k % 2 else size
    frames = (np.rot90(f, -k) for f in astronaut_frames(seconds, size, fps, face_px))
    plain = path.with_name(path.stem + ".unrotated" + path.suffix)
    _encode_frames(plain, frames, stored, fps, audio=audio)
    run_ffmpeg("-display_rotation", str(rotation), "-i", plain, "-c", "copy", path)
    plain.unlink()
    return path


def vfr_video(
    path: str | Path,
    size: tuple[int, int] = (320, 240),
    fast_frames: int = 30,
    fast_fps: float = 30,
    slow_fps: float = 5,
    slow_frames: int = 10,
) -> Path:
    """Variable frame rate: `fast_frames` at `fast_fps`, then `slow_frames` at `slow_fps`.

    Frame i of the slow part is shown at `fast_frames / fast_fps + i / slow_fps`; a decoder that
    computes `index / average fps` gets these times wrong, which is what the test checks.
    """
    width, height = size
    n = fast_frames + slow_frames
    pts = f"if(lt(N,{fast_frames}),N/{fast_fps},{fast_frames}/{fast_fps}+(N-{fast_frames})/{slow_fps})/TB"
    run_ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={width}x{height}:rate={fast_fps}",
        "-frames:v",
        str(n),
        "-vf",
        f"setpts='{pts}'",
        "-fps_mode",
        "passthrough",
        "-video_track_timescale",
        "90000",
        *_H264,
        path,
    )
    return Path(path)


def vfr_times(fast_frames: int = 30, fast_fps: float = 30, slow_fps: float = 5, slow_frames: int = 10) -> np.ndarray:
    """The presentation times `vfr_video` writes, for asserting decoded timestamps."""
    fast = np.arange(fast_frames) / fast_fps
    slow = fast_frames / fast_fps + np.arange(slow_frames) / slow_fps
    return np.concatenate([fast, slow])


def audio_only(path: str | Path, seconds: float = 1.0) -> Path:
    """An M4A/MP4 container with an audio stream and no video stream."""
    run_ffmpeg("-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=16000:duration={seconds}", "-c:a", "aac", path)
    return Path(path)


def truncated_copy(src: str | Path, dst: str | Path, fraction: float = 0.5) -> Path:
    """The first `fraction` of a file's bytes: what an interrupted upload or copy leaves behind."""
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[: int(len(data) * fraction)])
    return Path(dst)


def corrupted_copy(src: str | Path, dst: str | Path, at: float = 0.5, nbytes: int = 3000) -> Path:
    """A copy with `nbytes` of seeded random garbage written at fraction `at` of the file (a damaged disk or transfer)."""
    data = bytearray(Path(src).read_bytes())
    start = int(len(data) * at)
    data[start : start + nbytes] = np.random.default_rng(0).integers(0, 256, nbytes, dtype=np.uint8).tobytes()[: len(data) - start]
    Path(dst).write_bytes(bytes(data))
    return Path(dst)


def faststart_video(path: str | Path, **astronaut_kwargs) -> Path:
    """An astronaut video with its index (moov) at the front, so a truncated copy stays decodable up to the cut."""
    path = Path(path)
    plain = astronaut_video(path.with_name(path.stem + ".plain" + path.suffix), **astronaut_kwargs)
    run_ffmpeg("-i", plain, "-c", "copy", "-movflags", "+faststart", path)
    plain.unlink()
    return path


def zero_length(path: str | Path) -> Path:
    """An empty file with a video extension."""
    Path(path).write_bytes(b"")
    return Path(path)


def not_a_video(path: str | Path) -> Path:
    """A text file with a video extension."""
    Path(path).write_text("this is not a video\n")
    return Path(path)


def still_image(path: str | Path, kind: str = ".png") -> Path:
    """A picture encoded as `kind` (".png", ".jpg"...) saved under `path` whatever its extension: a photo renamed .mp4."""
    ok, data = cv2.imencode(kind, cv2.cvtColor(_face_patch(), cv2.COLOR_RGB2BGR))
    assert ok, f"OpenCV cannot encode {kind}"
    Path(path).write_bytes(data.tobytes())
    return Path(path)


def audio_with_cover(path: str | Path, seconds: float = 1.0) -> Path:
    """An M4A with an audio stream and a cover picture (a one-frame 'video' stream flagged attached_pic)."""
    cover = still_image(Path(path).with_name(Path(path).stem + ".cover.jpg"), ".jpg")
    run_ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency=440:sample_rate=16000:duration={seconds}",
        "-i",
        cover,
        "-map",
        "0",
        "-map",
        "1",
        "-c:a",
        "aac",
        "-c:v",
        "copy",
        "-disposition:v",
        "attached_pic",
        path,
    )
    cover.unlink()
    return Path(path)


def single_frame_stream(path: str | Path) -> Path:
    """A raw H.264 stream (no container, so no duration) holding one frame: a picture, not a video."""
    run_ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x64:rate=30", "-frames:v", "1", *_H264, "-f", "h264", path)
    return Path(path)
