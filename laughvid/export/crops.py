"""Reviewed segments -> labelled face crops for fine-tuning, in the generic set layout:

    SET/smile/*.png  SET/non_smile/*.png  SET/manifest.csv  (columns: MANIFEST_COLUMNS)

Labels come from the reviewer, never from the model: accepted and added segments are `smile`;
rejected segments and, once the whole video is marked reviewed, the time outside every segment
are `non_smile`. Pending segments are not used. Crops are framed like the model's training data
(the model card's `Framing`, in colour at 96 px) from the face boxes in the score cache, so no face
detection runs again.

Exporting a video again replaces that video's crops, so the set always mirrors the current review
(an undo or a relabel does not leave stale crops behind).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from laughvid.atomic import write_image_atomic
from laughvid.errors import ExportCancelled, FinetuneExportError
from laughvid.export.progress import OnTime, ProgressFn, Tracker
from laughvid.governance.consent import check_crop, crop_owners, track_links
from laughvid.lifecycle.manifest import (  # noqa: F401 (MANIFEST_COLUMNS re-exported for the set's readers)
    MANIFEST_COLUMNS,
    STAGING_PREFIX,
    VIDEO_GROUP,
    read_manifest,
    write_manifest,
)
from laughvid.pipeline.decode import frames_at
from laughvid.pipeline.faces.crop import Framing, crop_faces
from laughvid.review import LAUGH_STATES
from laughvid.types import Box, ReviewedSegment, ScoreCache

LABELS = ("smile", "non_smile")
CROP_SIZE = 96


@dataclass(frozen=True)
class PlannedCrop:
    """One face at one analysed frame, with the label the review gives it."""

    time_s: float
    track_id: int  # the person, as the timeline shows it
    raw_track_id: int  # the tracker's track: whose consent link covers this face
    box: Box
    label: str  # "smile" | "non_smile"
    reviewer: str
    reviewed_at: str


@dataclass(frozen=True)
class VideoSource:
    """The video the crops come from and what the manifest records about it."""

    path: str
    sha256: str
    rotation: int
    model_version: str
    default_consent_ref: str = ""  # for faces not linked to a registered participant
    analysis: str = ""  # AnalysisRecord.fingerprint of the analysis the raw track ids come from


@dataclass
class FinetuneExport:
    root: Path
    rows: list[dict]  # manifest rows written for this video
    removed: int  # this video's earlier crops that the current review no longer supports
    # why fine-tuning would refuse crops of `rows` that have a consent reference, today -> how many (`check_crop`)
    refused: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {label: sum(r["label"] == label for r in self.rows) for label in LABELS}

    def summary(self) -> str:
        """What was written, in the words the app and `laughvid export --finetune-set` both show."""
        counts = " and ".join(f"{n} {label}" for label, n in self.counts().items())
        removed = f", {self.removed} outdated removed" if self.removed else ""
        unconsented = sum(not r["consent_ref"] for r in self.rows)
        refused = (
            f"; {unconsented} without a consent reference, which fine-tuning refuses: link the person to a participant "
            "or give a consent reference, here or to `laughvid finetune --consent-ref`"
            if unconsented
            else ""
        )
        refused += "".join(f"; {n} that fine-tuning refuses today: {why}" for why, n in sorted(self.refused.items()))
        return f"fine-tune set {self.root}: {counts} crops from this video{removed}{refused}"


def crop_framing(model_framing: Framing) -> Framing:
    """The model's framing (where the face sits in the square), in colour at the set's crop size."""
    return replace(model_framing, grey=False, size=CROP_SIZE)


def _thin(times: np.ndarray, every_s: float) -> list[float]:
    """Times at least `every_s` apart, starting with the first."""
    chosen: list[float] = []
    for t in times:
        if not chosen or t - chosen[-1] >= every_s - 1e-9:
            chosen.append(float(t))
    return chosen


def plan_crops(
    items: Sequence[ReviewedSegment],
    cache: ScoreCache,
    completed_by: tuple[str, str] | None = None,
    every_s: float = 0.5,
    background_every_s: float = 2.0,
    margin_s: float = 0.5,
) -> list[PlannedCrop]:
    """Which faces to cut, labelled by the review. Only frames where the detector really ran are
    used (interpolated boxes may be off). A segment's own tracks are used when it names them,
    else every face in view. Non-segment time keeps `margin_s` away from any segment because
    segment edges are fuzzy."""
    detected = cache.detected
    times = np.unique(cache.times_s[detected])
    plan: list[PlannedCrop] = []

    def faces(at: list[float], tracks: tuple[int, ...], label: str, reviewer: str, when: str) -> None:
        for t in at:
            mine = detected & (cache.times_s == t)
            if tracks:
                mine &= np.isin(cache.track_ids, tracks)
            for i in np.flatnonzero(mine):
                plan.append(
                    PlannedCrop(
                        t, int(cache.track_ids[i]), int(cache.raw_track_ids[i]), tuple(map(float, cache.boxes[i])), label, reviewer, when
                    )
                )

    for item in items:
        if item.state in LAUGH_STATES or item.state == "rejected":
            label = "smile" if item.state in LAUGH_STATES else "non_smile"
            inside = times[(times >= item.start_s) & (times < item.end_s)]
            faces(_thin(inside, every_s), item.segment.track_ids, label, item.reviewer or "", item.reviewed_at or "")
    if completed_by:
        busy = np.zeros(len(times), bool)
        for item in items:
            busy |= (times >= item.start_s - margin_s) & (times < item.end_s + margin_s)
        faces(_thin(times[~busy], background_every_s), (), "non_smile", *completed_by)
    return plan


def _cut(
    source: VideoSource, plan: Sequence[PlannedCrop], framing: Framing, on_time: OnTime | None = None
) -> Iterator[tuple[PlannedCrop, np.ndarray]]:
    """Each planned face cut out (RGB, the set's framing), decoding each analysed frame once;
    `on_time` hears the video time reached after each frame."""
    framing = crop_framing(framing)
    by_time: dict[float, list[PlannedCrop]] = {}
    for crop in plan:
        by_time.setdefault(crop.time_s, []).append(crop)
    for t, frame in frames_at(source.path, source.rotation, list(by_time)):
        crops = by_time[t]
        yield from zip(crops, crop_faces(frame, [c.box for c in crops], framing), strict=False)
        if on_time is not None:
            on_time(t)


def preview_crops(
    source: VideoSource, plan: Sequence[PlannedCrop], framing: Framing, per_label: int = 24
) -> list[tuple[PlannedCrop, np.ndarray]]:
    """Up to `per_label` of the planned crops of each label, spread over the video, cut exactly as
    `export_finetune_set` would write them: what a reviewer checks before labelled faces enter the set
    (a rejected segment that was in fact a smile would become `non_smile` crops of a broad smile)."""
    picks = []
    for label in LABELS:
        of_label = [c for c in plan if c.label == label]
        step = max(1, -(-len(of_label) // per_label))
        picks += of_label[::step][:per_label]
    return list(_cut(source, picks, framing))


def export_finetune_set(
    root: str | Path,
    source: VideoSource,
    plan: Sequence[PlannedCrop],
    framing: Framing,
    conn: sqlite3.Connection | None = None,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> FinetuneExport:
    """Cut the planned crops into the set at `root`, replacing this video's earlier crops.

    The crops are cut into a staging folder inside `root` and moved into place only once all are cut,
    so a failure or a cancel (ExportCancelled, within a frame of setting `cancel`) leaves the set
    exactly as it was; the manifest names the new crops before they move in, so a process killed
    while moving them leaves no crop without its row. `progress` hears how far through the video the cutting is."""
    if not plan:
        raise FinetuneExportError("nothing to export: accept, add or reject segments (or mark the whole video reviewed) first")
    root = Path(root)
    for label in LABELS:
        (root / label).mkdir(parents=True, exist_ok=True)
    people = track_links(conn, source.sha256, source.analysis) if conn is not None else {}  # raw track -> participant id
    last_s = max(c.time_s for c in plan)
    tracker = Tracker(progress, cancel, last_s, 1)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=root))
    try:
        new_rows = _stage(staging, source, plan, framing, people, tracker.step(1, "cutting faces", last_s, label="fine-tune crops"))
        tracker.check()
        previous = read_manifest(root)
        written = {r["path"] for r in new_rows}
        # every crop on disk keeps a manifest row at every step, even if the process dies here: a crop
        # without one would be trained on under the default reference and missed by `consent delete`
        write_manifest(root, [r for r in previous if r["path"] not in written] + new_rows)
        for row in new_rows:  # renames within one folder tree: fast, and each crop whole
            os.replace(staging / row["path"], root / row["path"])
    except ExportCancelled as exc:
        raise ExportCancelled("export cancelled: the fine-tune set is as it was (no crop added)") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    kept = [r for r in previous if r.get("video_sha256") != source.sha256]
    stale = [r for r in previous if r.get("video_sha256") == source.sha256 and r["path"] not in written]
    for row in stale:
        (root / row["path"]).unlink(missing_ok=True)
    write_manifest(root, kept + new_rows)
    tracker.done(f"{len(new_rows)} fine-tune crop(s) written")
    return FinetuneExport(root, new_rows, len(stale), _refused(conn, new_rows) if conn is not None else {})


def _refused(conn: sqlite3.Connection, rows: list[dict]) -> dict[str, int]:
    """Why fine-tuning would refuse the crops among `rows` that have a consent reference, as it decides today
    (a crop of an expired or withdrawn participant, or one that may show one, untraced): said when they are added."""
    counts: dict[str, int] = {}
    for row, owner in zip(rows, crop_owners(conn, rows), strict=True):
        check = check_crop(conn, owner)
        if row["consent_ref"] and not check.ok:
            counts[check.reason] = counts.get(check.reason, 0) + 1
    return counts


def _stage(
    staging: Path, source: VideoSource, plan: Sequence[PlannedCrop], framing: Framing, people: dict[int, str], on_time: OnTime
) -> list[dict]:
    """Write each planned crop under `staging` (same relative paths as in the set); its manifest rows."""
    new_rows = []
    for crop, image in _cut(source, plan, framing, on_time):
        t = crop.time_s
        rel = f"{crop.label}/{source.sha256[:12]}_{round(t * 1000):09d}ms_t{crop.track_id}.png"
        try:
            write_image_atomic(staging / rel, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        except OSError as exc:
            raise FinetuneExportError(f"could not write {staging.parent / rel} (disk full or no permission?): {exc}") from exc
        participant = people.get(crop.raw_track_id)
        new_rows.append(
            {
                "path": rel,
                "label": crop.label,
                "group": participant or f"{VIDEO_GROUP}{source.sha256[:12]}",
                "video_sha256": source.sha256,
                "time_s": f"{t:.3f}",
                "track_id": str(crop.track_id),
                "raw_track_id": str(crop.raw_track_id),
                "analysis": source.analysis,
                "reviewer": crop.reviewer,
                "reviewed_at": crop.reviewed_at,
                "model_version": source.model_version,
                "consent_ref": participant or source.default_consent_ref,
            }
        )
    return new_rows
