"""What the app's buttons do, as plain functions over the store and the library API: the app's only
door into the library.

Each function takes everything it needs as arguments (no Streamlit state), so AppTest and unit
tests exercise the same code the buttons run, and the CLI could reuse any of it. Names imported
`as` themselves (the review edits, `rollback`, `to_srt`...) are library calls the app makes
unchanged; the rest decides what a panel shows or a button does. Refusals raise LaughvidError
with a message for the reviewer; the app shows it (`laughvid.ui.messages`).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import astuple, dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal

import numpy as np

from laughvid.clock import today_utc
from laughvid.config import MODEL_ENV, SAMPLES_DIR, VIDEO_TYPES, Settings, model_override
from laughvid.errors import (
    BlurError,
    ConsentError,
    ExportCancelled,
    ExportError,
    FinetuneExportError,
    RegistryError,
    ReviewError,
    UploadError,
    VideoError,
    VideoFileError,
)
from laughvid.export.clips import Clip, ClipOptions, Finish, Reel, export_clips, export_reel
from laughvid.export.crops import FinetuneExport, VideoSource, export_finetune_set, plan_crops, preview_crops
from laughvid.export.lists import LIST_FORMATS, ListSource, write_lists
from laughvid.export.lists import to_srt as to_srt
from laughvid.export.naming import export_stem, video_export_dir
from laughvid.export.progress import ExportProgress as ExportProgress
from laughvid.export.progress import ProgressFn
from laughvid.governance import consent
from laughvid.governance.consent import SCOPES as SCOPES
from laughvid.governance.consent import active_participants as active_participants
from laughvid.governance.consent import unlink_tracks as unlink_tracks
from laughvid.governance.face_blur import FaceBlur, unconsented_faces
from laughvid.governance.people import COLUMNS as COLUMNS
from laughvid.governance.people import THUMB as THUMB
from laughvid.governance.people import Person, RawTrack, latest_person_names, link_person, people, person_names, track_faces
from laughvid.lifecycle import registry
from laughvid.lifecycle.modelcard import ModelCard
from laughvid.lifecycle.registry import rollback as rollback
from laughvid.lifecycle.registry import rollback_target as rollback_target
from laughvid.pipeline.analyze import AnalysisResult, Scorer, analyze_video, list_videos, load_result
from laughvid.pipeline.decode import frames_at as frames_at
from laughvid.pipeline.segments import SmoothingParams
from laughvid.review.edits import LAUGH_STATES, completed, hidden_candidates, review_list
from laughvid.review.edits import accept as accept
from laughvid.review.edits import add as add
from laughvid.review.edits import delete as delete
from laughvid.review.edits import edit_bounds as edit_bounds
from laughvid.review.edits import mark_complete as mark_complete
from laughvid.review.edits import merge as merge
from laughvid.review.edits import redo as redo
from laughvid.review.edits import reject as reject
from laughvid.review.edits import split as split
from laughvid.review.edits import step as step
from laughvid.review.edits import undo as undo
from laughvid.review.intensity import biggest_first
from laughvid.review.library import auto_segments as auto_segments
from laughvid.review.library import library_entries as library_entries
from laughvid.review.queue import review_queue
from laughvid.store import AnalysisRecord, open_store
from laughvid.store.video_identity import check_video, relink
from laughvid.types import PersonNames as PersonNames
from laughvid.types import ReviewedSegment, ScoreCache, Segment
from laughvid.ui.uploads import save_upload

if TYPE_CHECKING:
    from laughvid.pipeline.scoring import SmileClassifier

SegmentsOf = Callable[[AnalysisRecord, SmoothingParams], list[Segment]]  # an analysis' segments at a tuning (library table)

# ---------------------------------------------------------------- where the data lives


def settings() -> Settings:
    """The data folders, read from the environment at every run of the page (a session may start
    with another $LAUGHVID_HOME than the last one)."""
    return Settings.from_env()


def connect(settings: Settings) -> sqlite3.Connection:
    """A connection per use: sqlite3 connections must stay on the thread that opened them.

    Raises:
        StoreError: the store is damaged, read-only or locked (the message says what to do).
    """
    return open_store(settings.store_path)


# ---------------------------------------------------------------- analysis: first run and uploads


@dataclass
class Outcome:
    """One file's analysis: a result, or the reason it failed (the other files still run)."""

    name: str
    result: AnalysisResult | None = None
    error: str | None = None


def analyse_files(
    paths: Sequence[Path],
    conn: sqlite3.Connection,
    classifier: Scorer,
    progress: Callable[[float, str], None] | None = None,
    names: Sequence[str] | None = None,
) -> list[Outcome]:
    """Analyse each file in turn; `progress(overall fraction, "name: message")`. Never stops at a failure.

    `names`: what the user calls each file (an upload's own name); messages say it instead of the path."""
    outcomes = []
    for n, path in enumerate(paths):
        name = names[n] if names else Path(path).name
        report = (lambda frac, msg, n=n, name=name: progress(min(1.0, (n + frac) / len(paths)), f"{name}: {msg}")) if progress else None
        try:
            outcomes.append(Outcome(name, analyze_video(path, conn, classifier, progress=report)))
        except Exception as exc:  # any failure is this file's, reported beside it
            outcomes.append(Outcome(name, error=_in_words(exc, path, name)))
    return outcomes


def _in_words(exc: Exception, path: Path, name: str) -> str:
    """The failure as the user's file would say it: their name for the file, not where the server
    keeps it, and no `[Errno N]` (a number from the C library, not something anyone can act on)."""
    text = str(exc) or type(exc).__name__
    for where in sorted({str(path), str(Path(path).resolve())}, key=len, reverse=True):
        text = text.replace(where, name)
    return re.sub(r"\[Errno -?\d+\]\s*", "", text)


UPLOAD_HINT = f"Upload a video that plays in a video player ({', '.join(VIDEO_TYPES)})."


def upload_and_analyse(
    files: Sequence[tuple[str, BinaryIO]],
    folder: Path,
    conn: sqlite3.Connection,
    classifier: Scorer,
    progress: Callable[[float, str], None] | None = None,
) -> list[Outcome]:
    """Save each upload safely (see `uploads.save_upload`), then analyse the ones that were saved.
    Each failure names the file as the user uploaded it and says what to do."""
    saved, names, refused = [], [], []
    for name, data in files:
        try:
            saved.append(save_upload(name, data, folder).path)
            names.append(name)
        except UploadError as exc:
            refused.append(Outcome(name, error=str(exc)))
        except OSError as exc:  # the server's disk, not the file: full, or the folder not writable
            refused.append(Outcome(name, error=f"{name} was not saved: {exc.strerror or exc} on the server. Ask whoever runs laughvid."))
    analysed = analyse_files(saved, conn, classifier, progress, names)
    for outcome in analysed:
        if outcome.error:
            outcome.error = f"{outcome.error.rstrip('.')}. {UPLOAD_HINT}"
    return refused + analysed


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


# ---------------------------------------------------------------- models


@dataclass(frozen=True)
class LoadedModel:
    """The model new analyses use, or why there is none (the review still works without one)."""

    classifier: SmileClassifier | None
    error: str | None = None


def load_model(model_dir: str | Path) -> LoadedModel:
    """Load the smile model in `model_dir`; a missing or broken one gives the reason instead."""
    from laughvid.pipeline.scoring import SmileClassifier  # onnxruntime loads with the first model, not with the page

    try:
        return LoadedModel(SmileClassifier.load(model_dir))
    except (FileNotFoundError, ValueError) as exc:
        return LoadedModel(None, str(exc))


def active_model(conn: sqlite3.Connection, load: Callable[[str], LoadedModel] = load_model) -> LoadedModel:
    """The active model loaded by `load` (the app passes a cached `load_model`), or why it cannot be."""
    try:
        model_dir = active_model_dir(conn)
    except RegistryError as exc:
        return LoadedModel(None, str(exc))
    return load(str(model_dir))


def model_override_note() -> str | None:
    """Says that $LAUGHVID_MODEL overrides the active model, when it is set."""
    override = model_override()
    return f"{MODEL_ENV}={override} overrides the active model in this app." if override else None


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


def scoring_card(conn: sqlite3.Connection, version: str) -> ModelCard | None:
    """The card of the model that scored a video (its crop framing) where no page has loaded the
    active model: after `laughvid analyze` alone the registry may not list the shipped model yet."""
    try:
        active = _card_at(active_model_dir(conn))
    except RegistryError:  # the active model's folder is gone: a registered older version may still be the one
        active = None
    return model_card_for(version, conn, active)


@dataclass(frozen=True)
class ModelChoice:
    """A registered model version as the sidebar lists it."""

    version: str
    active: bool
    card: ModelCard | None  # None when its folder or card is gone
    needs_retraining: str | None = None
    gate_kept_out: bool = False  # the promotion gate decided KEEP when it was trained (`models show` says why)

    @property
    def label(self) -> str:
        notes = [
            n
            for n, on in (
                ("active", self.active),
                ("card missing", self.card is None),
                ("needs retraining", bool(self.needs_retraining)),
                ("kept out by the promotion gate", self.gate_kept_out),
            )
            if on
        ]
        return self.version + (f" ({', '.join(notes)})" if notes else "")


def active_model_dir(conn: sqlite3.Connection) -> Path:
    """The model new analyses use; an empty registry first adopts the shipped model (raises RegistryError
    when the active model's folder is gone)."""
    registry.adopt_shipped_model(conn)
    return registry.resolve_model_dir(None, conn)


def model_choices(conn: sqlite3.Connection) -> list[ModelChoice]:
    """Every registered version, oldest first, the active one marked."""
    active = registry.active_version(conn)
    return [
        ModelChoice(m.version, m.version == active, _card_at(m.path), m.needs_retraining, registry.gate_kept_out(m))
        for m in registry.list_models(conn)
    ]


def activate_model(conn: sqlite3.Connection, version: str) -> str:
    """Make `version` the active model; refuses one whose folder no longer holds a loadable model card.
    Returns what to call it: one the promotion gate kept out is activated (as `models activate` does),
    and said so, with where to read why."""
    record = registry.get(conn, version)
    if record is None:
        raise RegistryError(f"no model version {version!r} in the registry")
    registry.record_from_dir(record.path)
    registry.activate(conn, version, reason="review app")
    if registry.gate_kept_out(record):
        return f"{version}, which the promotion gate kept out when it was trained (`laughvid models show {version}` says why; Roll back undoes it)"
    return version


# ---------------------------------------------------------------- tuning and the video on screen


@dataclass(frozen=True)
class Tuning:
    """The sidebar's sliders, in their order: what they set in `SmoothingParams`."""

    threshold: float  # a laugh starts when the smoothed score reaches this
    hysteresis: float  # ...and ends when it falls this far below the threshold
    median_s: float
    min_duration_s: float
    merge_gap_s: float

    @classmethod
    def default(cls) -> Tuning:
        """The smoothing tuned on the dev videos: the same segments as `laughvid analyze`."""
        d = SmoothingParams()
        return cls(d.on_threshold, d.on_threshold - d.off_threshold, d.median_s, d.min_duration_s, d.merge_gap_s)

    def values(self) -> tuple[float, ...]:
        return tuple(float(v) for v in astuple(self))

    def smoothing(self) -> SmoothingParams:
        return replace(
            SmoothingParams(),
            on_threshold=self.threshold,
            off_threshold=max(0.0, self.threshold - self.hysteresis),
            median_s=self.median_s,
            min_duration_s=self.min_duration_s,
            merge_gap_s=self.merge_gap_s,
        )


@dataclass(frozen=True)
class VideoView:
    """One video as the review page shows it: its analysis segmented with the tuning, the review
    state over those segments, and whether its file can still be played and cut."""

    result: AnalysisResult
    items: list[ReviewedSegment]
    completed: bool  # the whole video was marked reviewed
    problem: str | None  # why the file cannot be played or cut (missing, or not the analysed one)
    hidden: list[Segment] = field(default_factory=list)  # candidates a reviewed segment hides (`hidden_candidates`)
    names: PersonNames = field(default_factory=PersonNames)  # how its people are shown: a linked participant's name

    @property
    def record(self) -> AnalysisRecord:
        return self.result.record

    @property
    def duration_s(self) -> float:
        """No segment, review box or clip reaches past it."""
        return self.result.end_s

    def counts(self) -> dict[str, int]:
        return {s: sum(i.state == s for i in self.items) for s in ("pending", "accepted", "added", "rejected")}


def open_video(
    conn: sqlite3.Connection,
    record: AnalysisRecord,
    smoothing: SmoothingParams,
    load: Callable[[sqlite3.Connection, int, SmoothingParams], AnalysisResult] = load_result,
) -> VideoView:
    """Segment `record`'s analysis from its score cache (no decoding) and lay the review state over it.
    `load` is `load_result`, or the app's cached copy of it: a finished analysis never changes, and
    reading and stitching a long one's cache is most of a rerun (0.8 s for 30 minutes)."""
    result = load(conn, record.id, smoothing)
    items = review_list(result.segments, conn, record.sha256, result.intensity, result.series)
    hidden = hidden_candidates(result.segments, conn, record.sha256)
    names = person_names(conn, record, result.cache)
    return VideoView(result, items, completed(conn, record.sha256) is not None, video_problem(conn, record), hidden, names)


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
        raise VideoFileError("give the folder that holds the video now")
    report = relink(conn, [folder])
    if report.not_found:
        raise VideoFileError(f"{folder}: no such file or folder")
    if not report.relinked:
        raise VideoFileError(f"{folder}: no file there has the content of a video whose file is missing or changed")
    found = "; ".join(f"{name} found at {path}" for name, path in report.relinked)
    return found + (f" (still missing: {', '.join(r.name for r in report.missing)})" if report.missing else "")


def strip_times(frame_times: np.ndarray, count: int = 10) -> tuple[float, ...]:
    """`count` analysed frame times spread across the video, first and last included (the thumbnail strip)."""
    if not len(frame_times):
        return ()
    return tuple(float(frame_times[round(k * (len(frame_times) - 1) / (count - 1))]) for k in range(count))


@dataclass(frozen=True)
class UnsureMoment:
    """A moment of a video whose label would help the model most (active learning)."""

    video_sha256: str
    time_s: float
    track_id: int
    why: str
    video_name: str = ""
    person: str = ""  # the person as the app shows them (`PersonNames`): a linked participant's name, else "person N"


def unsure_moments(
    conn: sqlite3.Connection, video_sha256: str | None, smoothing: SmoothingParams, count: int = 8, order: str = "useful"
) -> list[UnsureMoment]:
    """Up to `count` unreviewed moments of this video (of every video with None: the library's review
    queue, in `laughvid review-next` order, or with `order="intensity"` the biggest laughs first),
    best first, ranked against `smoothing`'s threshold (the one the page shows)."""
    queue = review_queue(conn, k=200 if video_sha256 else count, params=smoothing, order=order)
    picks = [r for r in queue if video_sha256 is None or r.candidate.key[0] == video_sha256][:count]
    names = latest_person_names(conn, {r.candidate.key[0] for r in picks})
    return [
        UnsureMoment(
            sha := r.candidate.key[0],
            r.candidate.time_s,
            r.candidate.track_id,
            "; ".join(r.reasons) or "mixed signals",
            r.candidate.video,
            names[sha](r.candidate.track_id),
        )
        for r in picks
    ]


# ---------------------------------------------------------------- people and consent


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
    """Each person (then fragment) of the analysis with the consent link of each of its raw tracks: links made
    on this analysis, as blurring and `person_names` read them (another analysis's raw track 5 may be another face)."""
    links = consent.track_links(conn, result.record.sha256, result.record.fingerprint)

    def link(track: RawTrack) -> TrackLink:
        pid = links.get(track.track_id)
        return TrackLink(track, pid, consent.check_consent_ref(conn, pid, "clips", on) if pid else None)

    return [PersonLinks(p, tuple(link(t) for t in p.tracks)) for p in people(result)]


@dataclass(frozen=True)
class Faces:
    """One face per raw track, by raw track id, or why they cannot be cut out (linking still works)."""

    by_track: dict[int, np.ndarray]
    problem: str | None = None


def track_thumbnails(video: str | Path, tracks: Sequence[RawTrack]) -> Faces:
    """Each raw track's face, cut from the frame where it was detected most confidently."""
    try:
        return Faces({t.track_id: face for t, face in zip(tracks, track_faces(video, tracks), strict=True)})
    except VideoError as exc:
        return Faces({}, str(exc))


def link_faces(conn: sqlite3.Connection, person: Person, participant_id: str | None, track_ids: Sequence[int]) -> str:
    """Link the ticked raw tracks of a person to a registered participant; says what was linked.

    Raises:
        PersonTracksError: no participant, or no track ticked (nothing is linked).
        ConsentError: the participant is unknown or their consent does not hold today.
    """
    linked = link_person(conn, person, participant_id, track_ids)
    return f"person {person.person_id}: raw track(s) {', '.join(str(t.track_id) for t in linked)} linked to {participant_id}"


def register_participant(
    conn: sqlite3.Connection, participant_id: str, name: str, scopes: Sequence[str], consented_on: date, expires_on: date | None
) -> consent.Participant:
    """Register a participant from the app's form (stray spaces dropped); raises ConsentError saying what is wrong.
    A consent already over is refused: the form registers someone to link a face to, and nobody can be
    linked to it (the id would be taken by a record that the People panel never lists)."""
    if not name.strip():
        raise ConsentError("give the participant's name: an id alone does not tell the next reviewer whose face it is")
    p = consent.Participant(participant_id.strip(), name.strip(), tuple(scopes), consented_on, expires_on)
    today = today_utc()
    if expires_on is not None and expires_on < today:
        raise ConsentError(
            f"consent of {p.participant_id} expired on {expires_on} (today is {today}): no face can be linked to it; "
            "check the expiry date (`laughvid consent add` keeps records of past consent)"
        )
    consent.add_participant(conn, p)
    return p


# ---------------------------------------------------------------- export


def laughs(items: Sequence[ReviewedSegment]) -> list[ReviewedSegment]:
    """Segments that count as laughter for clips: accepted and added ones."""
    return [i for i in items if i.state in LAUGH_STATES]


def export_dir(exports_root: Path, record: AnalysisRecord) -> Path:
    return video_export_dir(exports_root, record.name, record.sha256)


def laugh_segments(items: Sequence[ReviewedSegment]) -> list[Segment]:
    """What clips and reels are cut from: the accepted and added segments (refuses none)."""
    chosen = laughs(items)
    if not chosen:
        raise ReviewError("no accepted or added segments yet: accept some before exporting clips")
    return [i.segment for i in chosen]


def clips_for(
    exports_root: Path,
    record: AnalysisRecord,
    segments: Sequence[Segment],
    options: ClipOptions,
    blur: Finish | None = None,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    ranked: bool = False,
) -> list[Clip]:
    """One clip per segment, cut from the analysed file only (`check_video`), faces hidden by `blur`;
    `progress`, `cancel` and `ranked` as `export_clips` takes them."""
    out = export_dir(exports_root, record) / "clips"
    return export_clips(check_video(record), segments, record.info.duration_s, out, options, blur, progress, cancel, ranked)


def reel_for(
    exports_root: Path,
    record: AnalysisRecord,
    segments: Sequence[Segment],
    options: ClipOptions,
    blur: Finish | None = None,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> Reel:
    out = export_dir(exports_root, record) / f"{export_stem(record.name)}_highlights.mp4"
    return export_reel(check_video(record), segments, record.info.duration_s, out, options, blur, progress, cancel)


def face_blur(conn: sqlite3.Connection, record: AnalysisRecord, cache: ScoreCache, options: ClipOptions) -> FaceBlur:
    """The faces of raw tracks without `clips` consent, as the step that blurs them in each exported
    file (its `track_ids` say whose); refuses a stream-copy cut, since blurring re-encodes anyway."""
    if options.mode == "copy":
        raise BlurError("blurring faces re-encodes anyway: choose the frame-accurate cut")
    return unconsented_faces(conn, record.sha256, cache, analysis=record.fingerprint)


def lists_for(
    exports_root: Path,
    record: AnalysisRecord,
    items: Sequence[ReviewedSegment],
    formats: Sequence[str] = LIST_FORMATS,
    all_states: bool = False,
) -> dict[str, Path]:
    """CSV, JSON, SRT and EDL (or some of them) of the segments on screen: CSV/JSON every segment with
    its review state, SRT/EDL the laughs (every segment with `all_states`). They come from the store
    alone (naming the video by its sha256), so they are written even when the file is gone."""
    source = ListSource(record.name, record.info.fps, record.sha256, record.model_version)
    return write_lists(items, source, export_dir(exports_root, record), formats, all_states)


def finetune_for(
    settings: Settings,
    conn: sqlite3.Connection,
    record: AnalysisRecord,
    result: AnalysisResult,
    items: Sequence[ReviewedSegment],
    card: ModelCard,
    consent_ref: str = "",
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> FinetuneExport:
    """Add this video's reviewed segments to the fine-tune set as labelled face crops."""
    plan = plan_crops(items, result.cache, completed(conn, record.sha256))
    source = VideoSource(
        str(check_video(record, conn)), record.sha256, record.info.rotation, record.model_version, consent_ref.strip(), record.fingerprint
    )
    return export_finetune_set(settings.finetune_dir, source, plan, card.framing, conn, progress, cancel)


def finetune_preview(
    conn: sqlite3.Connection, result: AnalysisResult, items: Sequence[ReviewedSegment], card: ModelCard | None, per_label: int = 24
) -> list[tuple[str, float, str, np.ndarray]]:
    """(label, time, person as shown, RGB crop) for a contact sheet of what "Add to fine-tune set" would
    write for this video, cut the same way; nothing is written."""
    record = result.record
    if card is None:
        raise FinetuneExportError(f"no model card for {record.model_version}: its crop framing is unknown")
    plan = plan_crops(items, result.cache, completed(conn, record.sha256))
    if not plan:
        raise FinetuneExportError("nothing to preview: accept, add or reject segments (or mark the whole video reviewed) first")
    source = VideoSource(str(check_video(record, conn)), record.sha256, record.info.rotation, record.model_version)
    names = person_names(conn, record, result.cache)
    return [(c.label, c.time_s, names(c.track_id), image) for c, image in preview_crops(source, plan, card.framing, per_label)]


ExportKind = Literal["clips", "reel", "lists", "finetune"]


@dataclass(frozen=True)
class Exported:
    """What an Export button wrote: the files to offer for download, and what to tell the reviewer;
    `cancelled`: the reviewer stopped it, and `paths` are the whole files written before that."""

    paths: list[Path]
    notes: list[str]
    cancelled: bool = False


def blur_note(hidden: FaceBlur) -> str:
    """What blurring did, in the words the app and `laughvid export` both show."""
    whose = ", ".join(map(str, hidden.track_ids))
    return f"blurred the faces of raw track(s) {whose} (no clips consent)" if whose else "every face has clips consent: nothing blurred"


def export_video(
    conn: sqlite3.Connection,
    settings: Settings,
    kind: ExportKind,
    view: VideoView,
    options: ClipOptions,
    blur: bool = False,
    card: ModelCard | None = None,
    consent_ref: str = "",
    all_states: bool = False,
    top: int = 0,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> Exported:
    """Write one kind of export of the video on screen: clips or a reel of its laughs (faces without
    `clips` consent blurred when `blur`; with `top` > 0 only the `top` biggest laughs by peak intensity,
    clips numbered biggest first), its segment lists, or its crops for the fine-tune set
    (framed for `card`'s model, `consent_ref` recorded for faces no participant is linked to; SRT/EDL
    with every segment when `all_states`). `progress` hears where a clip, reel or crop export is;
    setting `cancel` stops it within a second, keeping only whole files.

    Returns:
        The files written (none for the fine-tune set, which is a folder) and a message per step;
        when cancelled, the clips finished before the cancel and a note saying so.

    Raises:
        LaughvidError: nothing to cut, a refused option, ffmpeg or blurring failed, no model card
            to frame crops for; a file that cannot be written raises ExportError.
    """
    record = view.record
    try:
        if kind == "finetune":
            if card is None:
                raise FinetuneExportError(f"no model card for {record.model_version}: its crop framing is unknown")
            done = finetune_for(settings, conn, record, view.result, view.items, card, consent_ref, progress, cancel)
            return Exported([], [done.summary()])
        notes = []
        if kind == "lists":
            paths = list(lists_for(settings.exports_dir, record, view.items, all_states=all_states).values())
        else:
            chosen = laugh_segments(view.items)
            if top > 0:
                chosen = biggest_first(chosen, top)
                notes.append(f"the {len(chosen)} biggest laugh(s) by peak intensity" + (", clip01 the biggest" if kind == "clips" else ""))
            hidden = face_blur(conn, record, view.result.cache, options) if blur else None
            if kind == "clips":
                paths = [c.path for c in clips_for(settings.exports_dir, record, chosen, options, hidden, progress, cancel, top > 0)]
            else:
                paths = [reel_for(settings.exports_dir, record, chosen, options, hidden, progress, cancel).path]
            if hidden is not None:
                notes.append(blur_note(hidden))
    except ExportCancelled as exc:
        return Exported(list(exc.written), [f"{exc}; nothing partial was left"], cancelled=True)
    except OSError as exc:  # a full disk, a folder we may not write: said like any other refusal
        raise ExportError(str(exc)) from exc
    return Exported(paths, [*notes, f"wrote {len(paths)} file(s) to {paths[0].parent}"])


# ---------------------------------------------------------------- the player's video file


def playable_file(conn: sqlite3.Connection, video_sha256: str) -> Path:
    """The file to stream for the video with this sha256, checked to be the analysed one.

    Raises:
        VideoFileError: no analysed video has this sha256, or its file is missing or changed.
    """
    record = next((r for r in library(conn) if r.sha256 == video_sha256), None)
    if record is None:
        raise VideoFileError(f"no analysed video has sha256 {video_sha256[:12]}")
    return check_video(record, conn)


# ---------------------------------------------------------------- edits sent by the player-timeline


END_SLACK_S = 1e-3  # an end this close past the video's end is its end


@dataclass(frozen=True)
class TimelineEdit:
    """One change the player-timeline asks for (a key, a button or a dragged edge).

    `seg` and `other` name segments as the component drew them ({"id", "start", "end"}); `start`,
    `end` and `at` are times in seconds, already snapped to analysed frames by the component."""

    op: str
    nonce: str
    seg: dict | None = None
    other: dict | None = None
    start: float | None = None
    end: float | None = None
    at: float | None = None

    @classmethod
    def parse(cls, raw: dict) -> TimelineEdit:
        def seconds(key: str) -> float | None:
            return None if raw.get(key) is None else float(raw[key])

        return cls(
            str(raw.get("op", "")),
            str(raw.get("nonce", "")),
            raw.get("seg"),
            raw.get("other"),
            seconds("start"),
            seconds("end"),
            seconds("at"),
        )


def _drawn(items: Sequence[ReviewedSegment], ref: dict | None) -> ReviewedSegment:
    """The segment the component named, among those the page drew (a stored id wins over times)."""
    if ref:
        for item in items:
            if ref.get("id") is not None and item.id == ref["id"]:
                return item
        for item in items:
            if ref.get("id") is None and abs(item.start_s - float(ref["start"])) < 1e-3 and abs(item.end_s - float(ref["end"])) < 1e-3:
                return item
    raise ReviewError("that segment has changed since the page was drawn (another tab, or a rerun): select it again")


def timeline_edit(
    conn: sqlite3.Connection, video_sha256: str, items: Sequence[ReviewedSegment], edit: TimelineEdit, reviewer: str, duration_s: float
) -> tuple[str, tuple[float, float] | None]:
    """Store one change asked by the player-timeline; returns what to tell the reviewer and the bounds
    of the segment to keep selected (None: keep the selection as it is).

    Raises:
        ReviewError: no reviewer, an unknown op, a stale segment, or a refused edit (nothing is stored).
    """
    op = edit.op
    if edit.end is not None and duration_s < edit.end < duration_s + END_SLACK_S:
        edit = replace(edit, end=duration_s)  # the browser's clock rounds the last frame's end
    if op == "undo":
        return f"undone: {undo(conn, video_sha256)}", None
    if op == "redo":
        return f"redone: {redo(conn, video_sha256)}", None
    if op == "add":
        if edit.start is None or edit.end is None:
            raise ReviewError("an added laugh needs a start and an end")
        add(conn, video_sha256, edit.start, edit.end, reviewer, duration_s)
        return f"added a laugh at {edit.start:.2f}-{edit.end:.2f} s", (edit.start, edit.end)
    item = _drawn(items, edit.seg)
    where = f"{item.start_s:.2f}-{item.end_s:.2f} s"
    if op == "accept":
        accept(conn, video_sha256, item, reviewer)
        return f"accepted {where}", None
    if op == "reject":
        reject(conn, video_sha256, item, reviewer)
        return f"rejected {where}", None
    if op == "delete":
        delete(conn, video_sha256, item, reviewer)
        return f"deleted {where}", None
    if op == "bounds":
        if edit.start is None or edit.end is None:
            raise ReviewError("new bounds need a start and an end")
        edit_bounds(conn, video_sha256, item, edit.start, edit.end, reviewer, duration_s)
        return f"{where} is now {edit.start:.2f}-{edit.end:.2f} s", (edit.start, edit.end)
    if op == "split":
        if edit.at is None:
            raise ReviewError("a split needs a time")
        split(conn, video_sha256, item, edit.at, reviewer)
        return f"split {where} at {edit.at:.2f} s", (item.start_s, edit.at)
    if op == "merge":
        other = _drawn(items, edit.other)
        merge(conn, video_sha256, [item, other], reviewer)
        return f"merged {where} with {other.start_s:.2f}-{other.end_s:.2f} s", (
            min(item.start_s, other.start_s),
            max(item.end_s, other.end_s),
        )
    raise ReviewError(f"unknown timeline edit {op!r}")
