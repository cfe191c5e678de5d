"""Typed records that flow through the pipeline (decode -> faces -> scores -> segments).

Times are presentation timestamps in seconds (never `index / nominal fps`), boxes are pixel
coordinates `(x0, y0, x1, y1)` in the upright (rotation-corrected) frame.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class VideoInfo:
    """What probing a file tells us before decoding it."""

    path: str
    width: int  # upright width (after rotation)
    height: int
    fps: float  # average frame rate; VFR files still get correct per-frame timestamps
    duration_s: float
    frame_count: int
    rotation: int = 0  # degrees clockwise applied to decoded frames to make them upright
    has_audio: bool = False
    codec: str = ""


@dataclass
class FrameBatch:
    """A batch of decoded RGB frames (uint8, N x H x W x 3) with their timestamps."""

    frames: np.ndarray
    times_s: np.ndarray  # float64, N
    indices: np.ndarray  # int64, N: frame index in decode order

    def __len__(self) -> int:
        return len(self.times_s)


@dataclass(frozen=True)
class Detection:
    """One face found in one frame."""

    box: Box
    confidence: float
    detected: bool = True  # False: carried by the tracker through a detector miss (no detector saw it here)


@dataclass
class FaceObservation:
    """A tracked face at one analysed frame, with its smile probability once scored."""

    time_s: float
    track_id: int
    box: Box
    confidence: float
    prob: float | None = None


@dataclass
class FaceTrack:
    """One person over time: a stable id and its observations in time order."""

    track_id: int
    observations: list[FaceObservation] = field(default_factory=list)

    @property
    def start_s(self) -> float:
        return self.observations[0].time_s

    @property
    def end_s(self) -> float:
        return self.observations[-1].time_s


@dataclass
class ScoreSeries:
    """Laugh probability over time; NaN where no face is visible."""

    times_s: np.ndarray
    probs: np.ndarray
    track_id: int | None = None  # None = whole video (max over visible faces)


@dataclass
class Segment:
    """A laugh/smile interval, [start_s, end_s)."""

    start_s: float
    end_s: float
    peak_prob: float
    mean_prob: float
    track_ids: tuple[int, ...] = ()
    label: str = "laugh"  # "laugh" or "not_laugh" after review
    peak_intensity: float | None = None  # how big the laugh got, 0..1 (None: no face geometry, e.g. analysed before it existed)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass
class ReviewedSegment:
    """A segment as the reviewer sees it: the interval plus its review state.

    `state` is "pending" (auto, not reviewed), "accepted", "rejected" or "added" (a missed laugh the
    reviewer drew); `origin` is "auto" (from the score cache) or "manual". `id` is the store row id,
    None for an auto segment nobody has touched yet (it is recomputed from the cache on re-threshold).
    """

    segment: Segment
    state: str = "pending"
    origin: str = "auto"
    reviewer: str | None = None
    reviewed_at: str | None = None  # ISO 8601 UTC
    id: int | None = None

    @property
    def start_s(self) -> float:
        return self.segment.start_s

    @property
    def end_s(self) -> float:
        return self.segment.end_s


@dataclass(frozen=True)
class PersonNames:
    """How the people (stitched track ids) of one analysis are shown wherever people are listed: timeline
    legend, segment list, review queue, crop preview, `review-next`. The name of the participant their faces
    are linked to (`governance.people.person_names` fills `linked`), else "person N": the one place a person
    is worded, so the app and the CLI never disagree."""

    linked: Mapping[int, str] = field(default_factory=dict)  # person id -> label, for persons with a linked face

    def __call__(self, person_id: int) -> str:
        return self.linked.get(int(person_id)) or self.unnamed(person_id)

    @staticmethod
    def unnamed(person_id: int) -> str:
        return f"person {person_id}"


@dataclass
class ScoreCache:
    """Every face score of one analysis, as stored: enough to re-smooth or re-threshold without decoding.

    `frame_times_s` lists every analysed frame (with or without faces) so that "no face" is known,
    not guessed; the other arrays have one row per face observation (N). `probs` is the laugh
    probability the timeline shows (the fusion of the CNN and face geometry); its parts stay beside it. Stitching relabels
    `track_ids` to person ids; `raw_track_ids` keeps the tracker's ids, the ones consent links name
    (a person may join two people's tracks, a raw track never does).
    """

    frame_times_s: np.ndarray  # float64, F
    times_s: np.ndarray  # float64, N
    track_ids: np.ndarray  # int64, N
    boxes: np.ndarray  # float64, N x 4, upright source pixels
    confidences: np.ndarray  # float64, N (detector confidence; interpolated between detections)
    probs: np.ndarray  # float64, N
    detected: np.ndarray  # bool, N: True where the detector ran, False where the box was interpolated
    raw_track_ids: np.ndarray | None = None  # int64, N: the tracker's ids (default: `track_ids`, as stored)
    cnn_probs: np.ndarray | None = None  # float64, N: the smile CNN's own probability (default: `probs`, as before fusion)
    geometry: np.ndarray | None = None  # float64, N: laugh probability from face geometry alone (NaN: none)
    intensity: np.ndarray | None = None  # float64, N: how big the laugh is, 0..1 (NaN: no face geometry)

    def __post_init__(self) -> None:
        if self.raw_track_ids is None:
            self.raw_track_ids = self.track_ids
        if self.cnn_probs is None:
            self.cnn_probs = self.probs
        for name in ("geometry", "intensity"):
            if getattr(self, name) is None:
                setattr(self, name, np.full(len(self.times_s), np.nan))
