"""Throughput and memory of the analysis pipeline; prints figures, asserts nothing.

    python scripts/benchmark.py [--model DIR] [--seconds 60] [--no-dev] [--no-memory]

For a generated 720p30 clip (the astronaut face moving over a noisy background, written under
/tmp) and each dev video (../shared/videos/dev, if present) it prints, in one run on the same file:
  - decode-only: every frame decoded, none converted (the floor any decoder-based tool pays),
  - each stage at default settings, timed separately (wall and CPU seconds): decode (sampled frames converted to RGB),
    detect (BlazeFace + YuNet, second looks, small-face scan: `_track_batch`), crop+score (CNN),
    landmarks (face geometry on detection keyframes where the CNN is not sure the face is neutral), smooth,
  - end to end: `analyze_video` into a fresh store (stages overlap: decoding runs in its own thread),
    with the default fusion of CNN and face geometry, with the CNN alone (`geometry=""`), and with
    face finding as before issue 14 ("former faces": BlazeFace alone, nothing looked for again or carried),
as realtime factors (video seconds per wall second), plus end-to-end / decode-only; then the same in CPU
seconds of all threads with the load average (the figures to compare when other jobs load the machine).
Memory: peak RSS of a fresh process analysing a 1-minute and a 10-minute clip (the 10-minute one
is the 1-minute one looped, stream-copied) to show memory stays flat in video length.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # generated-media helpers

from media import astronaut_frames, run_ffmpeg  # noqa: E402

from laughvid.lifecycle.registry import load_classifier
from laughvid.pipeline.analyze import AnalysisParams, _face_features, _opencv_single_thread, _track_batch, analyze_video  # noqa: E402
from laughvid.pipeline.decode import iter_batches, probe  # noqa: E402
from laughvid.pipeline.faces.finder import make_detector  # noqa: E402
from laughvid.pipeline.faces.tracker import Tracker, TrackerParams, iou  # noqa: E402
from laughvid.pipeline.fusion import GeometryScorer  # noqa: E402
from laughvid.pipeline.scoring import SmileClassifier  # noqa: E402
from laughvid.pipeline.segments import SmoothingParams, find_segments  # noqa: E402
from laughvid.store import open_store  # noqa: E402
from laughvid.types import ScoreSeries  # noqa: E402

DEV = REPO.parent / "shared" / "videos" / "dev"
WORK = Path(tempfile.gettempdir()) / "laughvid-bench"


def generated_720p(seconds: int) -> Path:
    """720p30 H.264 (x264 'veryfast', grain added so it is not trivially compressible)."""
    path = WORK / f"astronaut_720p30_{seconds}s.mp4"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        frames = astronaut_frames(seconds, (1280, 720), 30, face_px=220)
        data = (f.tobytes() for f in frames)
        run_ffmpeg(
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-s",
            "1280x720",
            "-r",
            "30",
            "-i",
            "pipe:0",
            "-vf",
            "noise=alls=10",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-pix_fmt",
            "yuv420p",
            path,
            stdin=data,
        )
    return path


def looped(src: Path, times: int) -> Path:
    path = WORK / f"{src.stem}_x{times}.mp4"
    if not path.exists():
        run_ffmpeg("-stream_loop", str(times - 1), "-i", src, "-c", "copy", path)
    return path


def decode_only(path: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of all threads) to decode every frame."""
    start, cpu0 = time.perf_counter(), _cpu_s()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for _ in container.decode(stream):
            pass
    return time.perf_counter() - start, _cpu_s() - cpu0


def former_faces(params: AnalysisParams) -> AnalysisParams:
    """Face finding as before issue 14: BlazeFace alone, no second looks, nothing carried, no small-face scan."""
    return dataclasses.replace(params, detector="blaze", scan_every=0, tracker=TrackerParams(look_again_s=0.0, carry_s=0.0))


def stages(path: Path, classifier: SmileClassifier, params: AnalysisParams) -> tuple[dict[str, float], dict[str, float]]:
    """Wall and CPU seconds (all threads: decoding's frame threads too) spent in each stage, timed one at
    a time (no overlap), through analysis's own code and with its OpenCV setting (one thread).

    CPU seconds are the figure to compare when other jobs load the machine: wall clocks then measure them."""
    detector, tracker, keyframe = (
        make_detector(params.detector, params.min_face_confidence, params.min_yunet_confidence),
        Tracker(params.tracker),
        None,
    )
    geometry = GeometryScorer.load(params.geometry) if params.geometry else None
    spent = dict.fromkeys(("decode", "detect", "score", "landmarks", "smooth"), 0.0)
    cpu = dict(spent)

    @contextlib.contextmanager
    def timed(stage: str):
        t0, c0 = time.perf_counter(), _cpu_s()
        yield
        spent[stage] += time.perf_counter() - t0
        cpu[stage] += _cpu_s() - c0

    times, probs = [], []
    batches = iter_batches(path, params.fps, params.batch_size, params.max_side, backend=params.backend)
    n = 0
    with _opencv_single_thread():
        while True:
            with timed("decode"):
                batch = next(batches, None)
            if batch is None:
                break
            with timed("detect"):  # detection with everything the tracker adds: second looks, the small-face scan
                faces, is_key, keyframe = _track_batch(batch, n, tracker, detector, params, keyframe)
            n += len(batch)
            keys = [(i, tid) for i, frame_faces in enumerate(faces) for tid in sorted(frame_faces)]
            with timed("score"):
                crops = [classifier.crop(frame, [f[t].box for t in sorted(f)]) for frame, f in zip(batch.frames, faces, strict=True) if f]
                cnn = classifier.score(np.concatenate(crops)) if crops else np.zeros(0)
            if geometry is not None and keys:  # landmarks where analysis runs them (keyframes, the CNN's gate)
                with timed("landmarks"):
                    _face_features(batch, faces, is_key, keys, geometry, params.landmark_every, cnn >= params.landmark_gate)
            best = np.full(len(batch), np.nan)
            for (i, _), p in zip(keys, cnn, strict=True):
                best[i] = np.fmax(best[i], p)
            times.extend(batch.times_s)
            probs.extend(best)
    with timed("smooth"):
        find_segments(ScoreSeries(np.array(times), np.array(probs)), SmoothingParams())
    return spent, cpu


def end_to_end(path: Path, classifier: SmileClassifier, params: AnalysisParams) -> tuple[float, float]:
    """(wall seconds, CPU seconds of all threads) for one fresh analysis."""
    with tempfile.TemporaryDirectory() as d:
        conn = open_store(Path(d) / "bench.sqlite")
        cpu0, start = _cpu_s(), time.perf_counter()
        analyze_video(path, conn, classifier, params)
        return time.perf_counter() - start, _cpu_s() - cpu0


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def report(path: Path, classifier: SmileClassifier, params: AnalysisParams) -> None:
    info = probe(path)
    dur = info.duration_s
    raw, raw_cpu = decode_only(path)
    spent, stage_cpu = stages(path, classifier, params)
    e2e, cpu = end_to_end(path, classifier, params)
    cnn_only, _ = end_to_end(path, classifier, dataclasses.replace(params, geometry=""))
    former, _ = end_to_end(path, classifier, former_faces(params))
    rt = {k: dur / v if v > 0 else float("inf") for k, v in spent.items()}
    print(
        f"{path.name:30s} {info.width}x{info.height}@{info.fps:.0f} {dur:6.1f}s | decode-only {dur / raw:6.1f}x | "
        f"decode {rt['decode']:6.1f}x  detect {rt['detect']:6.1f}x  score {rt['score']:6.1f}x  landmarks {rt['landmarks']:6.1f}x  "
        f"smooth {rt['smooth']:8.0f}x | end-to-end {dur / e2e:5.1f}x = {raw / e2e:.2f} of decode-only | {dur / cpu:5.1f} video-s per CPU-s"
        f" | CNN alone {dur / cnn_only:5.1f}x = {raw / cnn_only:.2f} | former faces {dur / former:5.1f}x = {raw / former:.2f}"
    )
    print(
        f"{'':30s} CPU seconds (load average {os.getloadavg()[0]:.1f}): decode-only {raw_cpu:.2f} | "
        + "  ".join(f"{k} {v:.2f}" for k, v in stage_cpu.items())
        + f" | end-to-end {cpu:.2f} = {cpu / raw_cpu:.2f} x decode-only"
    )


def interpolation_quality(videos: list[Path], classifier: SmileClassifier, every_options=(2, 3, 4, 6)) -> None:
    """How well boxes interpolated between detections match detecting on every analysed frame.

    Per setting: mean IoU of interpolated boxes with the every-frame detections, the share of
    analysed frames whose "any face visible" differs, and the mean |prob difference| of the
    whole-video series where both see a face.
    """
    with tempfile.TemporaryDirectory() as d:
        conn = open_store(Path(d) / "q.sqlite")
        reference = {v: analyze_video(v, conn, classifier, AnalysisParams(detect_every=1)) for v in videos}
        for every in every_options:
            ious, presence, prob_diff = [], [], []
            for v in videos:
                ref = reference[v]
                run = analyze_video(v, conn, classifier, AnalysisParams(detect_every=every))
                presence.append(np.isnan(ref.series.probs) != np.isnan(run.series.probs))
                both = ~np.isnan(ref.series.probs) & ~np.isnan(run.series.probs)
                prob_diff.append(np.abs(ref.series.probs[both] - run.series.probs[both]))
                for t, box in zip(run.cache.times_s[~run.cache.detected], run.cache.boxes[~run.cache.detected], strict=False):
                    candidates = ref.cache.boxes[ref.cache.times_s == t]
                    ious.append(max((iou(tuple(box), tuple(c)) for c in candidates), default=0.0))
            print(
                f"detect_every={every}: interpolated-box IoU {np.mean(ious):.3f} (n={len(ious)}), "
                f"face presence differs on {np.mean(np.concatenate(presence)):.1%} of frames, "
                f"mean |prob diff| {np.mean(np.concatenate(prob_diff)):.4f}"
            )


def peak_rss_mb(path: Path, model: str | None) -> tuple[float, float, float, float]:
    """Memory of a fresh process analysing `path`: (peak RSS, highest RSS seen in the first half of
    the video, in the second half, all MB; wall seconds). Flat memory = the halves agree.

    VmHWM, not getrusage: Linux carries ru_maxrss over from the parent across fork+exec.
    """
    code = (
        "import sys, tempfile, time; from pathlib import Path;"
        "from laughvid.pipeline.analyze import analyze_video; from laughvid.lifecycle.registry import load_classifier; from laughvid.store import open_store;"
        "status = lambda key: int(open('/proc/self/status').read().split(key + ':')[1].split()[0]) / 1024;"
        "halves = [0.0, 0.0];"
        "track = lambda frac, msg: halves.__setitem__(frac > 0.5, max(halves[frac > 0.5], status('VmRSS')));"
        "c = load_classifier(sys.argv[2] or None); d = tempfile.mkdtemp(); t = time.perf_counter();"
        "analyze_video(sys.argv[1], open_store(Path(d) / 's.sqlite'), c, progress=track);"
        "print(status('VmHWM'), halves[0], halves[1], time.perf_counter() - t)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path), model or ""], capture_output=True, text=True, check=True).stdout
    peak, first, second, wall = map(float, out.split())
    return peak, first, second, wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="smile model directory (default: the active model)")
    parser.add_argument("--seconds", type=int, default=60, help="length of the generated 720p30 clip")
    parser.add_argument("--landmark-every", type=int, default=AnalysisParams().landmark_every, help="AnalysisParams.landmark_every")
    parser.add_argument("--landmark-gate", type=float, default=AnalysisParams().landmark_gate, help="AnalysisParams.landmark_gate")
    parser.add_argument("--scan-every", type=int, default=AnalysisParams().scan_every, help="AnalysisParams.scan_every")
    parser.add_argument("--no-dev", action="store_true", help="skip the dev videos")
    parser.add_argument("--no-memory", action="store_true", help="skip the 1 min vs 10 min memory runs")
    parser.add_argument(
        "--interpolation", action="store_true", help="also compare detect_every settings with detecting on every frame (dev videos)"
    )
    args = parser.parse_args(argv)
    classifier = load_classifier(args.model)
    params = AnalysisParams(landmark_every=args.landmark_every, landmark_gate=args.landmark_gate, scan_every=args.scan_every)
    print(f"model {classifier.version}; {json.dumps(params.as_dict())}")
    print("realtime factors (video seconds per wall second; higher is faster), 2 threads max per stage")
    clip = generated_720p(args.seconds)
    report(clip, classifier, params)
    if not args.no_dev and DEV.is_dir():
        for video in sorted(DEV.glob("*.mp4")):
            report(video, classifier, params)
    if args.interpolation and DEV.is_dir():
        interpolation_quality(sorted(DEV.glob("*.mp4")), classifier)
    if not args.no_memory:
        one = generated_720p(60)
        for label, video in (("1 min", one), ("10 min", looped(one, 10))):
            peak, first, second, wall = peak_rss_mb(video, str(args.model) if args.model else None)
            print(
                f"{label:>6s} 720p30: peak RSS {peak:5.0f} MB; highest RSS in 1st half {first:5.0f} MB, 2nd half {second:5.0f} MB "
                f"({probe(video).duration_s / wall:.1f}x realtime)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
