"""The library API: analyse a video into a cached score timeline, and read results back.

    conn = open_store()
    result = analyze_video("talk.mp4", conn, progress=lambda frac, msg: ...)
    result.series, result.tracks, result.segments          # whole video, per person, laugh segments
    compute_segments(conn, result.record.id, SmoothingParams(on_threshold=0.7))   # no decoding
    list_videos(conn)                                      # what has been analysed

Per batch of analysed frames: detect faces on every `detect_every`-th analysed frame and on the
batch's last frame, link them into tracks, interpolate boxes for the frames in between (offline,
so both sides are known), crop and score every face of every analysed frame in one ONNX call,
then commit the batch to the store with the state needed to resume after it. Three threads overlap:
decoding, detection/tracking of batch n+1, and cropping/scoring of batch n (measured idle on 720p30:
0.50 -> 0.59 of decode-only, docs/pipeline.md); batches are stored in order. Reading a result
back stitches the tracker's tracks into one id per person (laughvid.pipeline.faces.stitch): a pure function
of the stored observations, so a cached or resumed analysis shows the same persons as a fresh one.

Why detect on a subset: on the 2-core target, BlazeFace costs 3-6 ms per frame while decoding a
720p30 file costs ~1 ms per source frame; detecting on all 10 analysed frames per second would
alone cap the pipeline near the 15x-realtime target, while faces move little in 0.3 s. Measured
choice (scripts/benchmark.py): see docs/pipeline.md.
"""

from __future__ import annotations

import contextlib
import functools
import math
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from laughvid import store
from laughvid.pipeline.decode import DecodeReport, iter_batches, probe
from laughvid.pipeline.faces.finder import DETECTORS
from laughvid.pipeline.faces.landmarks import FEATURES, features
from laughvid.pipeline.faces.stitch import stitch
from laughvid.pipeline.faces.tracker import RegionDetector, Tracker, TrackerParams, fill_between, track_keyframe
from laughvid.pipeline.fusion import SHIPPED_FUSION, GeometryScorer
from laughvid.pipeline.segments import SmoothingParams, find_segments
from laughvid.pipeline.timeline import peak_between, track_average, track_series, whole_series
from laughvid.store.video_identity import FileStamp
from laughvid.types import Box, Detection, FrameBatch, ScoreCache, ScoreSeries, Segment

ProgressFn = Callable[[float, str], None]  # (fraction done 0..1, message)


class Scorer(Protocol):
    """What analysis needs from the smile classifier (laughvid.pipeline.scoring.SmileClassifier)."""

    version: str

    def crop(self, frame_rgb: np.ndarray, boxes: Sequence[Box]) -> np.ndarray: ...

    def score(self, crops: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class AnalysisParams:
    """Everything that changes the score cache; a change means a new analysis, not a cache hit."""

    fps: float = 10.0  # analysed frames per second
    detect_every: int = 3  # run the face detector on every n-th analysed frame (plus each batch's last)
    batch_size: int = 30  # analysed frames per batch = per committed cache chunk
    max_side: int = 1280  # decode frames no larger than this (4K is downscaled; boxes stay in source pixels)
    min_face_confidence: float = 0.6  # BlazeFace
    min_yunet_confidence: float = 0.75  # YuNet: at 0.6 it took a hand holding a phone for a face (dev clip people_street)
    detector: str = "blaze+yunet"  # see laughvid.pipeline.faces.finder: which face detectors run on keyframes
    # ... and every n-th keyframe YuNet also scans the whole frame, at 320 and 640 px (0 = never); 6 (every 1.8 s) found the
    # same laugh events as 3 on the 106-clip dev set at half the scan's cost (docs/pipeline.md); faces it finds are then tracked
    scan_every: int = 6
    backend: str = "auto"
    tracker: TrackerParams = field(default_factory=TrackerParams)
    geometry: str = SHIPPED_FUSION  # fuse face geometry with the CNN using this fusion model ("" = the CNN alone)
    landmark_every: int = (
        2  # face landmarks on every n-th detection keyframe (2: every 6th analysed frame at the defaults); features interpolated in between
    )
    # ... and only where a frame that would use them has a CNN probability of at least this (0 = everywhere):
    # on the 106-clip dev set fusion-v1 never lifted a face below 0.05 above 0.2, and 47 % of faces are below it
    landmark_gate: float = 0.05

    def __post_init__(self) -> None:
        """Refuse bad values here, before any analysis row is written, for every caller (CLI, UI, scripts)."""
        if not math.isfinite(self.fps) or self.fps <= 0:  # NaN passes `<= 0`, and would fail mid-analysis
            raise ValueError(f"fps must be a number above 0, got {self.fps}")
        if self.detect_every < 1 or self.batch_size < 1:
            raise ValueError(f"detect_every and batch_size must be >= 1, got {self.detect_every} and {self.batch_size}")
        if self.landmark_every < 1:
            raise ValueError(f"landmark_every must be >= 1, got {self.landmark_every}")
        if not 0 <= self.landmark_gate <= 1:  # NaN fails too
            raise ValueError(f"landmark_gate must be a probability from 0 to 1, got {self.landmark_gate}")
        if self.scan_every < 0:
            raise ValueError(f"scan_every must be >= 0 (0 = no small-face scan), got {self.scan_every}")
        if self.detector not in DETECTORS:
            raise ValueError(f"detector must be one of {', '.join(DETECTORS)}, got {self.detector!r}")

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class AnalysisResult:
    record: store.AnalysisRecord
    cache: ScoreCache  # track ids are person ids (stitched); raw_track_ids are the tracker's, as stored
    # whole video: laugh probability (CNN fused with face geometry; each face's averaged over its own track within
    # `smoothing.score_window_s`), max over visible faces, NaN where none; the raw per-face scores are in `cache`
    series: ScoreSeries
    tracks: dict[int, ScoreSeries]  # the same, one per person
    segments: list[Segment]
    smoothing: SmoothingParams
    from_cache: bool  # True when nothing was decoded
    fragments: tuple[int, ...]  # ids in `cache` of faces seen too briefly to be a person: in `series`, not in `tracks`
    intensity: ScoreSeries | None = None  # whole video: how big the laugh is (0..1), max over faces; NaN without face geometry
    track_intensity: dict[int, ScoreSeries] = field(default_factory=dict)  # the same per person

    def laugh(self, window_s: float) -> tuple[ScoreSeries, dict[int, ScoreSeries]]:
        """`series` and `tracks` as another score window would give them (no store access)."""
        if window_s == self.smoothing.score_window_s:
            return self.series, self.tracks
        return laugh_series(self.cache, self.fragments, window_s)

    @property
    def end_s(self) -> float:
        """Where the video ends: no segment ends later, and no review bound or clip reaches past it."""
        return video_end_s(self.record.info.duration_s, self.series.times_s)


def video_end_s(duration_s: float, times_s: np.ndarray) -> float:
    """The video's stated duration, or its last analysed frame when the header says less (none, or a wrong one)."""
    return max(duration_s, float(times_s[-1])) if len(times_s) else duration_s


def analyze_video(
    path: str | Path,
    conn=None,
    classifier: Scorer | None = None,
    params: AnalysisParams = AnalysisParams(),
    smoothing: SmoothingParams = SmoothingParams(),
    progress: ProgressFn | None = None,
    detector: RegionDetector | None = None,
    model_dir: str | Path | None = None,
    sha256: str | None = None,
    geometry: GeometryScorer | None = None,
) -> AnalysisResult:
    """Analyse one video (or return the cached analysis; or resume an interrupted one).

    Raises `laughvid.errors.VideoError` with a readable message for files that cannot be analysed.
    `classifier` defaults to the smile model in `model_dir` (None = the active model). `sha256` is
    the file's content hash when the caller has it already (a library run hashes before dispatching).
    `geometry` defaults to the shipped landmark and fusion models of `params.geometry` (none when it is "").
    """
    conn = conn if conn is not None else store.open_store()
    path = Path(path).resolve()  # exports read this path later, from whatever folder they run in
    info = probe(path)
    stamp = FileStamp.of(path)  # before hashing: a change while hashing shows as a changed file later
    video_id = store.upsert_video(conn, sha256 or store.file_sha256(path), info, stamp.size_bytes, stamp.mtime_ns)
    if classifier is None:
        from laughvid.lifecycle.registry import load_classifier  # lazy: onnxruntime session only when needed

        classifier = load_classifier(model_dir, conn)
    record = store.start_analysis(conn, video_id, classifier.version, params.as_dict())  # a finished one comes back untouched
    if record.status != "done":
        try:
            if geometry is None and params.geometry:
                geometry = _shared_geometry(params.geometry)
            warnings = _run(conn, record, classifier, detector or _default_detector(params), params, progress, geometry)
        except store.AnalysisDone:  # another run of the same analysis finished first: serve its result
            pass
        except BaseException as exc:  # KeyboardInterrupt too: committed chunks stay for resume
            store.fail_analysis(conn, record.id, f"{type(exc).__name__}: {exc}")  # never demotes a finished one
            raise
        else:
            store.finish_analysis(conn, record.id, warnings)
            result = load_result(conn, record.id, smoothing, from_cache=False)
            store.save_segments(conn, record.id, smoothing.hash(), result.segments)
            if progress:
                progress(1.0, "done")
            return result
    if progress:
        progress(1.0, "cached")
    return load_result(conn, record.id, smoothing, from_cache=True)


@functools.lru_cache(maxsize=2)
def _shared_detector(kind: str, min_confidence: float, min_yunet_confidence: float) -> RegionDetector:
    """One ONNX session per process (creating one costs 15-50 ms; `run` is thread-safe)."""
    from laughvid.pipeline.faces.finder import make_detector

    return make_detector(kind, min_confidence, min_yunet_confidence)


def _default_detector(params: AnalysisParams) -> RegionDetector:
    return _shared_detector(params.detector, params.min_face_confidence, params.min_yunet_confidence)


@functools.lru_cache(maxsize=1)
def _shared_geometry(version: str) -> GeometryScorer:
    """Landmark and fusion models, loaded once per process (like the detector)."""
    return GeometryScorer.load(version)


def laugh_series(cache: ScoreCache, fragments: Sequence[int], window_s: float) -> tuple[ScoreSeries, dict[int, ScoreSeries]]:
    """The timeline's laugh probability, whole video and per person: each face's score averaged over its own
    track within `window_s` (laughvid.pipeline.timeline.track_average), then the max over faces per frame."""
    probs = track_average(cache, window_s)
    return whole_series(cache, probs), {tid: s for tid, s in track_series(cache, probs).items() if tid not in fragments}


def load_result(conn, analysis_id: int, smoothing: SmoothingParams = SmoothingParams(), from_cache: bool = True) -> AnalysisResult:
    """Series, tracks and segments of a stored analysis, without decoding."""
    record = store.get_analysis(conn, analysis_id)
    if record is None:
        raise KeyError(f"no analysis with id {analysis_id}")
    people = stitch(store.load_cache(conn, analysis_id))
    return result_from_cache(record, people.cache, people.fragments, smoothing, from_cache)


def result_from_cache(
    record: store.AnalysisRecord, cache: ScoreCache, fragments: tuple[int, ...], smoothing: SmoothingParams, from_cache: bool
) -> AnalysisResult:
    """Series, tracks, segments (with their peak intensity) and intensity built from a stitched score cache.

    Why one function: a stored analysis (`load_result`) and the same analysis re-scored by another model
    (Phase 2's candidates) must give the timeline and segments the product shows, step for step."""
    series, tracks = laugh_series(cache, fragments, smoothing.score_window_s)
    segments = find_segments(series, smoothing, tracks, video_end_s(record.info.duration_s, series.times_s))
    intensity = whole_series(cache, cache.intensity)
    for segment in segments:  # export and review rank big laughs first
        segment.peak_intensity = peak_between(intensity, segment.start_s, segment.end_s)
    track_intensity = {tid: s for tid, s in track_series(cache, cache.intensity).items() if tid in tracks}
    return AnalysisResult(record, cache, series, tracks, segments, smoothing, from_cache, fragments, intensity, track_intensity)


def compute_segments(conn, analysis_id: int, smoothing: SmoothingParams) -> list[Segment]:
    """Segments for other smoothing parameters, from the cache (milliseconds, no decoding)."""
    return load_result(conn, analysis_id, smoothing).segments


def list_videos(conn) -> list[store.AnalysisRecord]:
    """Finished analyses, newest first (one per video, model and parameter set)."""
    return store.list_analyses(conn, status="done")


PREFETCH_DEPTH = 1  # decoded batches waiting for analysis (each 720p batch is 83 MB)


def _prefetch(batches: Iterator[FrameBatch], depth: int) -> Iterator[FrameBatch]:
    """Decode in a background thread so decoding overlaps detection and scoring.

    PyAV and onnxruntime both release the GIL in their native code, so on 2 cores the stages run
    side by side instead of one after the other.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                if stop.is_set():
                    return
                q.put(batch)
            q.put(done)
        except BaseException as exc:  # re-raised in the consumer
            q.put(exc)

    worker = threading.Thread(target=produce, daemon=True, name="laughvid-decode")
    worker.start()
    try:
        while (item := q.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                worker.join(0.05)


class _OpenCVSingleThread:
    """OpenCV calls on one thread while any analysis in this process runs; the caller's setting is
    given back when the last one ends.

    Why: analysis already keeps both cores busy with its stages (decoding, detection, scoring in
    threads of their own), like the ONNX sessions' single thread. OpenCV's own pool would split each
    colour conversion or resize across cores and then spin waiting for work: measured, converting the
    sampled frames of 20 s of 720p30 took ~0.3 s less CPU on one thread. Results are the same either
    way. Counted, not save-and-restore per analysis: the app runs analyses in concurrent session
    threads, and two overlapping save/restore pairs would leave OpenCV on one thread for good (or
    switch it back while the other still runs).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._before = 0

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._running == 0:
                self._before = cv2.getNumThreads()
                cv2.setNumThreads(1)
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                if self._running == 0:
                    cv2.setNumThreads(self._before)


_opencv_single_thread = _OpenCVSingleThread()


def _run(
    conn,
    record: store.AnalysisRecord,
    classifier: Scorer,
    detector: RegionDetector,
    params: AnalysisParams,
    progress: ProgressFn | None,
    geometry: GeometryScorer | None = None,
) -> list[str]:
    info = record.info
    resume = record.resume or {}
    tracker = Tracker.from_state(resume["tracker"], params.tracker) if resume else Tracker(params.tracker)
    analysed = resume.get("analysed", 0)
    keyframe = _faces_from_json(resume["keyframe"]) if resume.get("keyframe") else None
    report = DecodeReport()
    batches = iter_batches(
        info.path, params.fps, params.batch_size, params.max_side, resume.get("last_time_s"), params.backend, info, report
    )

    def save(rows: Future, times_s: np.ndarray, state: dict, fraction: float) -> None:
        store.save_chunk(conn, record.id, times_s, rows.result(), state, fraction)
        if progress:
            progress(fraction, f"{state['last_time_s']:.1f}/{info.duration_s:.1f} s")

    waiting = None  # the batch being scored while the next one is detected: (rows to come, times, resume state, fraction)
    with _opencv_single_thread(), ThreadPoolExecutor(1, thread_name_prefix="laughvid-score") as scoring:
        try:
            for batch in _prefetch(batches, PREFETCH_DEPTH):
                scale = info.width / batch.frames.shape[2]
                faces, is_key, keyframe = _track_batch(batch, analysed, tracker, detector, params, keyframe)
                rows = scoring.submit(
                    _score_rows, batch, faces, is_key, classifier, scale, geometry, params.landmark_every, params.landmark_gate
                )
                analysed += len(batch)
                last = float(batch.times_s[-1])
                state = {"tracker": tracker.state(), "analysed": analysed, "last_time_s": last, "keyframe": _faces_to_json(keyframe)}
                done, waiting = waiting, (rows, batch.times_s, state, min(1.0, last / info.duration_s) if info.duration_s > 0 else 0.0)
                if done:
                    save(*done)
                del batch  # frees its frames once scored: at most 4 batches in memory (scored, detected, queued, decoded)
            done, waiting = waiting, None
            if done:
                save(*done)
        except BaseException:
            if waiting:  # keep what was finished for resume (the interrupted batch is redone)
                with contextlib.suppress(Exception):
                    save(*waiting)
            raise
    if analysed == 0:
        report.warnings.append("no frames could be decoded")
    return report.warnings


_Faces = dict[int, Detection]


def _faces_to_json(keyframe: tuple[float, _Faces] | None) -> list | None:
    if keyframe is None:
        return None
    t, faces = keyframe
    return [t, {str(tid): [list(d.box), d.confidence] for tid, d in faces.items()}]


def _faces_from_json(data: list) -> tuple[float, _Faces]:
    t, faces = data
    return t, {int(tid): Detection(tuple(box), conf) for tid, (box, conf) in faces.items()}


def _track_batch(
    batch: FrameBatch,
    analysed: int,
    tracker: Tracker,
    detector: RegionDetector,
    params: AnalysisParams,
    keyframe: tuple[float, _Faces] | None,
) -> tuple[list[_Faces], list[bool], tuple[float, _Faces]]:
    """Faces (track id -> detection) per frame, which frames were detected, and the last keyframe."""
    n, every = len(batch), params.detect_every
    # Keyframes end each run of `every` frames, so with batch_size a multiple of `every` the batch's
    # last frame (needed to interpolate up to it) costs no extra detection; plus the video's first frame.
    is_key = [(analysed + i) % every == every - 1 or analysed + i == 0 or i == n - 1 for i in range(n)]
    # The YuNet scan runs on every `scan_every`-th regular keyframe and the first frame: by frame
    # index, so a resumed analysis scans the same frames.
    period = every * params.scan_every
    scan = [period > 0 and ((analysed + i) % period == period - 1 or analysed + i == 0) for i in range(n)]
    keyed = {i: track_keyframe(tracker, detector, batch.frames[i], float(batch.times_s[i]), scan[i]) for i in np.flatnonzero(is_key)}
    faces: list[_Faces] = []
    prev = keyframe
    next_keys = sorted(keyed)
    for i in range(n):
        t = float(batch.times_s[i])
        if i in keyed:
            prev = (t, keyed[i])
            faces.append(keyed[i])
            continue
        nxt = next(k for k in next_keys if k > i)  # the batch's last frame is always a keyframe
        t1, faces1 = float(batch.times_s[nxt]), keyed[nxt]
        t0, faces0 = prev if prev is not None else (t1, {})
        faces.append(fill_between(t0, faces0, t1, faces1, t))
    return faces, is_key, prev


def _score_rows(
    batch: FrameBatch,
    faces: list[_Faces],
    is_key: list[bool],
    classifier: Scorer,
    scale: float,
    geometry: GeometryScorer | None = None,
    landmark_every: int = 1,
    landmark_gate: float = 0.0,
) -> list[tuple]:
    """Crop every face of every frame, score all crops in one call, fuse with face geometry, return store rows."""
    crops, keys = [], []
    for i, frame_faces in enumerate(faces):
        if not frame_faces:
            continue
        ids = sorted(frame_faces)
        crops.append(classifier.crop(batch.frames[i], [frame_faces[t].box for t in ids]))
        keys.extend((i, t) for t in ids)
    if not keys:
        return []
    cnn = classifier.score(np.concatenate(crops))
    probs, geo, intensity = cnn, [None] * len(keys), [None] * len(keys)
    if geometry is not None:
        feats = _face_features(batch, faces, is_key, keys, geometry, landmark_every, cnn >= landmark_gate)
        probs = geometry.model.fuse(cnn, feats)
        geo, intensity = (_nullable(v) for v in (geometry.model.geometry_score(feats), geometry.model.intensity(probs, feats)))
    rows = []
    for k, (i, tid) in enumerate(keys):
        det = faces[i][tid]
        box = [float(v) * scale for v in det.box]
        rows.append(
            (
                float(batch.times_s[i]),
                tid,
                *box,
                float(det.confidence),
                float(probs[k]),
                bool(is_key[i]) and det.detected,
                float(cnn[k]),
                geo[k],
                intensity[k],
            )
        )
    return rows


def _nullable(values: np.ndarray) -> list[float | None]:
    return [None if np.isnan(v) else float(v) for v in values]


def _face_features(
    batch: FrameBatch,
    faces: list[_Faces],
    is_key: list[bool],
    keys: list[tuple[int, int]],
    geometry: GeometryScorer,
    every: int,
    wanted: np.ndarray | None = None,
) -> np.ndarray:
    """Face features (landmarks.FEATURES) for every (frame, track) in `keys`; NaN rows where none were measured.

    Landmarks cost ~15-20 ms per face, 5x the CNN, so they run only on detection keyframes (every
    `every`-th, counted back from the batch's last frame; plus each track's last keyframe if that
    left it without one), and each track's features are interpolated in time between them (held
    at the batch's edges: no state crosses batches, so resume is unchanged).

    `wanted` (per key; default all) says which faces need geometry: a keyframe's landmarks run only
    if a wanted face of that track takes its features from it (lies between it and the track's
    neighbouring keyframes). A wanted face thus gets exactly the features it would get with every
    face wanted; an unwanted face whose neighbouring keyframes were skipped gets none (NaN).
    """
    wanted = np.ones(len(keys), bool) if wanted is None else wanted
    keyframes = [i for i in range(len(batch)) if is_key[i]][::-1]
    chosen = {i: set(faces[i]) for i in keyframes[::every]}
    covered = set().union(*chosen.values()) if chosen else set()
    for i in keyframes:  # newest first: each uncovered track's last keyframe
        for tid in set(faces[i]) - covered:
            chosen.setdefault(i, set()).add(tid)
            covered.add(tid)
    rows_of: dict[int, list[int]] = {}
    for k, (_, tid) in enumerate(keys):
        rows_of.setdefault(tid, []).append(k)
    needs: dict[int, list[np.ndarray]] = {}  # track -> per row, the sample frames it reads
    run: dict[int, set[int]] = {}  # frame -> tracks whose landmarks run there
    for tid, rows in rows_of.items():
        samples = np.array(sorted(i for i, tids in chosen.items() if tid in tids))
        if not len(samples):  # only on frames held from the previous batch's last keyframe: no geometry
            continue
        at = np.array([keys[k][0] for k in rows])
        lo = samples[np.clip(np.searchsorted(samples, at, side="right") - 1, 0, None)]  # held before the first sample
        hi = samples[np.clip(np.searchsorted(samples, at, side="left"), None, len(samples) - 1)]  # ... and after the last
        needs[tid] = [lo, hi]
        for i in {*lo[wanted[rows]], *hi[wanted[rows]]}:
            run.setdefault(int(i), set()).add(tid)
    seen: dict[int, dict[int, np.ndarray]] = {}
    for i in sorted(run):
        ids = sorted(run[i])
        for tid, shape in zip(ids, geometry.landmarker.run(batch.frames[i], [faces[i][t].box for t in ids]), strict=True):
            seen.setdefault(tid, {})[i] = features(shape)
    out = np.full((len(keys), len(FEATURES)), np.nan)
    for tid, samples in seen.items():
        rows = np.array(rows_of[tid])
        lo, hi = needs[tid]
        ok = np.array([a in samples and b in samples for a, b in zip(lo, hi, strict=True)])
        at = np.array([float(batch.times_s[keys[k][0]]) for k in rows[ok]])
        order = sorted(samples)
        times, values = batch.times_s[order].astype(float), np.stack([samples[i] for i in order])
        out[rows[ok]] = np.column_stack([np.interp(at, times, values[:, c]) for c in range(values.shape[1])])
    return out
