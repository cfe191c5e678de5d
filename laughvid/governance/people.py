"""A person of the timeline as the raw tracks it was stitched from, so consent is linked face by face.

The timeline and analysis.json show persons (`laughvid.pipeline.faces.stitch`), but stitching sees only time,
place and size: two people taking turns at one spot can become one person. Consent links therefore
name the tracker's raw tracks. Before linking a person, the operator sees each of its raw tracks
(span, detections) and, on a contact sheet, its clearest face, and can leave out the tracks that show
someone else. The CLI (`laughvid consent link`) and the app's "People in this video" panel link
through `link_person`, so both refuse the same mistakes. Once linked, a person is shown by the
participant's name wherever people are listed (`person_names`), else as "person N".
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from laughvid.atomic import write_image_atomic
from laughvid.errors import PersonTracksError
from laughvid.export.contact_sheet import tile_grid
from laughvid.governance.consent import link_tracks, list_participants, track_links
from laughvid.pipeline.analyze import AnalysisResult, list_videos, load_result
from laughvid.pipeline.decode import frames_at, probe
from laughvid.pipeline.faces.crop import Framing, crop_faces
from laughvid.store import AnalysisRecord
from laughvid.types import Box, PersonNames, ScoreCache

THUMB = 128  # contact sheet tile, pixels
COLUMNS = 6
SHEET_FRAMING = Framing(scale=1.8, size=THUMB, grey=False)  # wider than the model's: hair and outline help a person tell faces apart


@dataclass(frozen=True)
class RawTrack:
    """One of the tracker's tracks (what a consent link names) and the frame that shows it best."""

    track_id: int
    start_s: float
    end_s: float
    detections: int  # analysed frames where the detector found it (the rest are interpolated)
    best_time_s: float  # where it was detected most confidently (largest box on a tie)
    best_box: Box

    @property
    def span(self) -> str:
        return f"{self.start_s:.1f}-{self.end_s:.1f} s"


@dataclass(frozen=True)
class Person:
    """A person (or fragment) as the timeline and analysis.json show it, and its raw tracks in time order."""

    analysis: AnalysisRecord
    person_id: int
    tracks: tuple[RawTrack, ...]
    fragment: bool = False  # seen too briefly to be a person: no line on the timeline, blurred unless linked

    def select(self, track_ids: Iterable[int] | None = None) -> tuple[RawTrack, ...]:
        """The person's raw tracks among `track_ids` (None: all of them); refuses an id that is not one
        of them, and an empty choice (linking nothing is a slip, not a request)."""
        if track_ids is None:
            return self.tracks
        wanted = set(track_ids)
        if not wanted:
            raise PersonTracksError(f"choose at least one raw track of person {self.person_id}")
        unknown = sorted(wanted - {t.track_id for t in self.tracks})
        if unknown:
            raise PersonTracksError(
                f"raw track(s) {', '.join(map(str, unknown))} not part of person {self.person_id} "
                f"(its raw tracks: {', '.join(str(t.track_id) for t in self.tracks)})"
            )
        return tuple(t for t in self.tracks if t.track_id in wanted)


def raw_tracks(cache: ScoreCache, person_id: int) -> tuple[RawTrack, ...]:
    """The raw tracks observed under `person_id` in a stitched cache, in time order."""
    mine = cache.track_ids == person_id
    if not mine.any():
        raise PersonTracksError(f"no person {person_id} in this analysis{_hint(cache, person_id)}")
    area = (cache.boxes[:, 2] - cache.boxes[:, 0]) * (cache.boxes[:, 3] - cache.boxes[:, 1])
    tracks = []
    for tid in np.unique(cache.raw_track_ids[mine]).tolist():
        rows = np.flatnonzero(mine & (cache.raw_track_ids == tid))
        seen = rows[cache.detected[rows]]  # a track starts at a detection, so never empty
        best = seen[np.lexsort((area[seen], cache.confidences[seen]))[-1]]
        tracks.append(
            RawTrack(
                tid,
                float(cache.times_s[rows].min()),
                float(cache.times_s[rows].max()),
                len(seen),
                float(cache.times_s[best]),
                tuple(map(float, cache.boxes[best])),
            )
        )
    return tuple(sorted(tracks, key=lambda t: t.start_s))


def _hint(cache: ScoreCache, person_id: int) -> str:
    """Where a raw id that is not a person went, or which persons there are."""
    joined = np.unique(cache.track_ids[cache.raw_track_ids == person_id]).tolist()
    if joined:
        return f" (raw track {person_id} is part of person {joined[0]}: link person {joined[0]}, choosing raw track {person_id})"
    return f" (persons and fragments: {', '.join(map(str, np.unique(cache.track_ids).tolist())) or 'none'})"


def find_person(conn: sqlite3.Connection, video_sha256: str, person_id: int) -> Person:
    """The person as the newest finished analysis of the video shows it (what the app shows)."""
    record = next((r for r in list_videos(conn) if r.sha256 == video_sha256), None)
    if record is None:
        raise PersonTracksError(f"no finished analysis of video {video_sha256[:12]}: analyse it first (laughvid analyze, or the app)")
    result = load_result(conn, record.id)
    return Person(record, person_id, raw_tracks(result.cache, person_id), person_id in result.fragments)


def people(result: AnalysisResult) -> list[Person]:
    """Every person of an analysis, then every fragment, each as its raw tracks: all the faces a
    consent link can uncover."""
    ids = [*result.tracks, *result.fragments]
    return [Person(result.record, pid, raw_tracks(result.cache, pid), pid in result.fragments) for pid in ids]


def person_names(conn: sqlite3.Connection, record: AnalysisRecord, cache: ScoreCache | None = None) -> PersonNames:
    """`PersonNames` of an analysis from its consent links (those made on this analysis, as blurring reads
    them: another analysis's raw ids may be other faces). `cache` is its stitched cache (loaded only when
    a face of the video is linked and none is given). A person whose every raw track is linked to one
    participant is shown by their name (their id once the name is deleted); a person linked only in part,
    or to several participants (stitching joined two people), as "person N (partly Kim)": the name alone
    would put it on someone else's face."""
    links = track_links(conn, record.sha256, record.fingerprint)
    if not links:
        return PersonNames()
    if cache is None:
        cache = load_result(conn, record.id).cache
    label = {p.participant_id: p.name or p.participant_id for p in list_participants(conn)}
    linked = {}
    for pid in np.unique(cache.track_ids).tolist():
        raw = set(np.unique(cache.raw_track_ids[cache.track_ids == pid]).tolist())
        whom = sorted({links[t] for t in raw if t in links})
        if whom:
            names = ", ".join(label.get(w, w) for w in whom)
            linked[int(pid)] = names if len(whom) == 1 and raw <= set(links) else f"{PersonNames.unnamed(pid)} (partly {names})"
    return PersonNames(linked)


def latest_person_names(conn: sqlite3.Connection, videos: Iterable[str]) -> dict[str, PersonNames]:
    """`PersonNames` of each video's newest finished analysis: the one whose people `review_queue` lists."""
    wanted, latest = set(videos), {}
    for record in list_videos(conn):  # newest first
        if record.sha256 in wanted:
            latest.setdefault(record.sha256, record)
    return {sha: person_names(conn, record) for sha, record in latest.items()}


def link_person(
    conn: sqlite3.Connection, person: Person, participant_id: str | None, track_ids: Iterable[int] | None = None
) -> tuple[RawTrack, ...]:
    """Link the person's raw tracks (all, or those among `track_ids`) to a registered participant; returns
    the linked tracks. Refuses, linking nothing, a track that is not the person's, an empty choice, no
    participant or an unknown one."""
    chosen = person.select(track_ids)
    if not participant_id:
        raise PersonTracksError(f"choose the participant person {person.person_id} shows (register them first if they are not listed)")
    link_tracks(conn, person.analysis.sha256, [t.track_id for t in chosen], participant_id, person.analysis.fingerprint)
    return chosen


def track_faces(video: str | Path, tracks: Sequence[RawTrack]) -> list[np.ndarray]:
    """One RGB face per raw track (THUMB px, cut wider than the model's crop from its best frame); a
    white tile where that frame cannot be read. Raises VideoError when the video cannot be opened."""
    rotation = probe(video).rotation  # raises VideoError with a readable reason
    at_time: dict[float, list[int]] = {}
    for i, track in enumerate(tracks):
        at_time.setdefault(track.best_time_s, []).append(i)
    faces = [np.full((THUMB, THUMB, 3), 255, np.uint8) for _ in tracks]  # stays white if its frame cannot be read
    for t, frame in frames_at(video, rotation, list(at_time)):
        for i, face in zip(at_time[t], crop_faces(frame, [tracks[i].best_box for i in at_time[t]], SHEET_FRAMING), strict=False):
            faces[i] = face
    return faces


def contact_sheet(video: str | Path, tracks: Sequence[RawTrack]) -> np.ndarray:
    """RGB grid of one face per raw track (at its best frame), captioned with its id and span."""
    captions = [(f"raw track {t.track_id}", t.span) for t in tracks]
    return tile_grid(track_faces(video, tracks), captions, THUMB, max(1, min(len(tracks), COLUMNS)))


def write_contact_sheet(video: str | Path, tracks: Sequence[RawTrack], out: str | Path) -> Path:
    """Write `contact_sheet` as a PNG (folders created)."""
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise PersonTracksError(f"{out}: the contact sheet is a PNG, give a file name ending in .png")
    sheet = contact_sheet(video, tracks)
    try:
        write_image_atomic(out, cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    except OSError as exc:
        raise PersonTracksError(f"could not write {out} (disk full or no permission?): {exc}") from exc
    return out
