"""What the app's buttons do, as plain functions over the store and the library API.

Each function takes everything it needs as arguments (no Streamlit state), so AppTest and unit
tests exercise the same code the buttons run, and the CLI could reuse any of it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import BinaryIO

from laughvid import review
from laughvid.config import SAMPLES_DIR, Settings
from laughvid.export.clips import Clip, ClipOptions, Finish, Reel, export_clips, export_reel
from laughvid.export.crops import FinetuneExport, VideoSource, export_finetune_set, plan_crops
from laughvid.export.lists import LIST_FORMATS, ListSource, write_lists
from laughvid.export.naming import export_stem, video_export_dir
from laughvid.governance import consent
from laughvid.governance.face_blur import FaceBlur, unconsented_faces
from laughvid.governance.people import Person, RawTrack, people
from laughvid.lifecycle import registry
from laughvid.lifecycle.modelcard import ModelCard
from laughvid.pipeline.analyze import AnalysisResult, Scorer, analyze_video, list_videos
from laughvid.store import AnalysisRecord
from laughvid.store.video_identity import VideoFileError, check_video, relink
from laughvid.types import ReviewedSegment, ScoreCache, Segment
from laughvid.ui.uploads import UploadError, save_upload


@dataclass
class Outcome:
    """One file's analysis: a result, or the reason it failed (the other files still run)."""

    name: str
    result: AnalysisResult | None = None
    error: str | None = None


def analyse_files(
    paths: Sequence[Path], conn: sqlite3.Connection, classifier: Scorer, progress: Callable[[float, str], None] | None = None
) -> list[Outcome]:
    """Analyse each file in turn; `progress(overall fraction, "name: message")`. Never stops at a failure."""
    outcomes = []
    for n, path in enumerate(paths):
        name = Path(path).name
        report = (lambda frac, msg, n=n, name=name: progress(min(1.0, (n + frac) / len(paths)), f"{name}: {msg}")) if progress else None
        try:
            outcomes.append(Outcome(name, analyze_video(path, conn, classifier, progress=report)))
        except Exception as exc:  # any failure is this file's, reported beside it
            outcomes.append(Outcome(name, error=str(exc) or type(exc).__name__))
    return outcomes


def upload_and_analyse(
    files: Sequence[tuple[str, BinaryIO]], folder: Path, conn: sqlite3.Connection, classifier: Scorer,
    progress: Callable[[float, str], None] | None = None,
) -> list[Outcome]:
    """Save each upload safely (see `uploads.save_upload`), then analyse the ones that were saved."""
    saved, refused = [], []
    for name, data in files:
        try:
            saved.append(save_upload(name, data, folder).path)
        except (UploadError, OSError) as exc:
            refused.append(Outcome(name, error=str(exc)))
    return refused + analyse_files(saved, conn, classifier, progress)


def sample_videos() -> list[Path]:
    return sorted(SAMPLES_DIR.glob("*.mp4"))


def needs_first_run(conn: sqlite3.Connection) -> bool:
    """An empty library: the app analyses the shipped samples so a new user sees a timeline at once."""
    return not list_videos(conn)


def library(conn: sqlite3.Connection) -> list[AnalysisRecord]:
    """Newest analysis of each video (a video re-analysed by a newer model shows that one)."""
    seen: dict[str, AnalysisRecord] = {}
    for record in list_videos(conn):
        seen.setdefault(record.sha256, record)
    return list(seen.values())


def _card_at(model_dir: str | Path) -> ModelCard | None:
    try:
        return ModelCard.load(model_dir)
    except (FileNotFoundError, ValueError):
        return None


def model_card_for(version: str, conn: sqlite3.Connection, active: ModelCard | None) -> ModelCard | None:
    """The card of the model that scored a video: the active one, or a registered older version."""
    if active is not None and active.version == version:
        return active
    record = registry.get(conn, version)
    return _card_at(record.path) if record else None


@dataclass(frozen=True)
class ModelChoice:
    """A registered model version as the sidebar lists it."""

    version: str
    active: bool
    card: ModelCard | None  # None when its folder or card is gone
    needs_retraining: str | None = None

    @property
    def label(self) -> str:
        notes = [n for n, on in (("active", self.active), ("card missing", self.card is None),
                                 ("needs retraining", bool(self.needs_retraining))) if on]  # fmt: skip
        return self.version + (f" ({', '.join(notes)})" if notes else "")


def active_model_dir(conn: sqlite3.Connection) -> Path:
    """The model new analyses use; an empty registry first adopts the shipped model (raises RegistryError
    when the active model's folder is gone)."""
    registry.adopt_shipped_model(conn)
    return registry.resolve_model_dir(None, conn)


def model_choices(conn: sqlite3.Connection) -> list[ModelChoice]:
    """Every registered version, oldest first, the active one marked."""
    active = registry.active_version(conn)
    return [ModelChoice(m.version, m.version == active, _card_at(m.path), m.needs_retraining) for m in registry.list_models(conn)]


def activate_model(conn: sqlite3.Connection, version: str) -> str:
    """Make `version` the active model; refuses one whose folder no longer holds a loadable model card."""
    record = registry.get(conn, version)
    if record is None:
        raise registry.RegistryError(f"no model version {version!r} in the registry")
    registry.record_from_dir(record.path)
    registry.activate(conn, version, reason="review app")
    return version


def laughs(items: Sequence[ReviewedSegment]) -> list[ReviewedSegment]:
    """Segments that count as laughter for clips: accepted and added ones."""
    return [i for i in items if i.state in review.LAUGH_STATES]


def export_dir(exports_root: Path, record: AnalysisRecord) -> Path:
    return video_export_dir(exports_root, record.name, record.sha256)


def laugh_segments(items: Sequence[ReviewedSegment]) -> list[Segment]:
    """What clips and reels are cut from: the accepted and added segments (refuses none)."""
    chosen = laughs(items)
    if not chosen:
        raise review.ReviewError("no accepted or added segments yet: accept some before exporting clips")
    return [i.segment for i in chosen]


def clips_for(exports_root: Path, record: AnalysisRecord, segments: Sequence[Segment], options: ClipOptions,
              blur: Finish | None = None) -> list[Clip]:
    """One clip per segment, cut from the analysed file only (`check_video`), faces hidden by `blur`."""
    return export_clips(check_video(record), segments, record.info.duration_s, export_dir(exports_root, record) / "clips", options, blur)


def reel_for(exports_root: Path, record: AnalysisRecord, segments: Sequence[Segment], options: ClipOptions,
             blur: Finish | None = None) -> Reel:
    out = export_dir(exports_root, record) / f"{export_stem(record.name)}_highlights.mp4"
    return export_reel(check_video(record), segments, record.info.duration_s, out, options, blur)


def face_blur(conn: sqlite3.Connection, record: AnalysisRecord, cache: ScoreCache, options: ClipOptions) -> FaceBlur:
    """The faces of raw tracks without `clips` consent, as the step that blurs them in each exported
    file (its `track_ids` say whose); refuses a stream-copy cut, since blurring re-encodes anyway."""
    if options.mode == "copy":
        raise ValueError("blurring faces re-encodes anyway: choose the frame-accurate cut")
    return unconsented_faces(conn, record.sha256, cache)


def video_problem(conn: sqlite3.Connection, record: AnalysisRecord) -> str | None:
    """Why the video cannot be played or exported (its file is missing or not the analysed one), or None."""
    try:
        check_video(record, conn)
    except VideoFileError as exc:
        return str(exc)
    return None


def relink_folder(conn: sqlite3.Connection, folder: str) -> str:
    """Look for moved videos in a folder (by content); says what was found and what is still missing."""
    folder = folder.strip()
    if not folder:
        raise ValueError("give the folder that holds the video now")
    report = relink(conn, [folder])
    if report.not_found:
        raise ValueError(f"{folder}: no such file or folder")
    if not report.relinked:
        raise ValueError(f"{folder}: no file there has the content of a video whose file is missing or changed")
    found = "; ".join(f"{name} found at {path}" for name, path in report.relinked)
    return found + (f" (still missing: {', '.join(r.name for r in report.missing)})" if report.missing else "")


@dataclass(frozen=True)
class TrackLink:
    """A raw track as the "People in this video" panel shows it: whom it is linked to, and whether
    that consent keeps its face unblurred in clips today (the same check blurring makes)."""

    track: RawTrack
    participant_id: str | None
    clips: consent.ConsentCheck | None  # None when not linked

    @property
    def status(self) -> str:
        if self.clips is None:
            return "not linked: blurred when blurring is on"
        if self.clips.ok:
            return f"linked to {self.participant_id}, who consented to clips: not blurred"
        return f"linked to {self.participant_id}, but {self.clips.reason}: blurred when blurring is on"


@dataclass(frozen=True)
class PersonLinks:
    person: Person
    tracks: tuple[TrackLink, ...]


def people_links(conn: sqlite3.Connection, result: AnalysisResult, on: date | None = None) -> list[PersonLinks]:
    """Each person (then fragment) of the analysis with the consent link of each of its raw tracks."""
    links = consent.track_links(conn, result.record.sha256)

    def link(track: RawTrack) -> TrackLink:
        pid = links.get(track.track_id)
        return TrackLink(track, pid, consent.check_consent_ref(conn, pid, "clips", on) if pid else None)

    return [PersonLinks(p, tuple(link(t) for t in p.tracks)) for p in people(result)]


def register_participant(
    conn: sqlite3.Connection, participant_id: str, name: str, scopes: Sequence[str], consented_on: date, expires_on: date | None
) -> consent.Participant:
    """Register a participant from the app's form (stray spaces dropped); raises ConsentError saying what is wrong."""
    if not name.strip():
        raise consent.ConsentError("give the participant's name: an id alone does not tell the next reviewer whose face it is")
    p = consent.Participant(participant_id.strip(), name.strip(), tuple(scopes), consented_on, expires_on)
    consent.add_participant(conn, p)
    return p


def lists_for(exports_root: Path, record: AnalysisRecord, items: Sequence[ReviewedSegment],
              formats: Sequence[str] = LIST_FORMATS) -> dict[str, Path]:
    """CSV, JSON, SRT and EDL (or some of them) of every segment on screen, with its review state. They
    come from the store alone (naming the video by its sha256), so they are written even when the file is gone."""
    source = ListSource(record.name, record.info.fps, record.sha256, record.model_version)
    return write_lists(items, source, export_dir(exports_root, record), formats)


def finetune_for(
    settings: Settings,
    conn: sqlite3.Connection,
    record: AnalysisRecord,
    result: AnalysisResult,
    items: Sequence[ReviewedSegment],
    card: ModelCard,
    consent_ref: str = "",
) -> FinetuneExport:
    """Add this video's reviewed segments to the fine-tune set as labelled face crops."""
    plan = plan_crops(items, result.cache, review.completed(conn, record.sha256))
    source = VideoSource(str(check_video(record, conn)), record.sha256, record.info.rotation, record.model_version, consent_ref.strip())
    return export_finetune_set(settings.finetune_dir, source, plan, card.framing, conn)
