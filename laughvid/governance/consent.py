"""Participant consent: who agreed to what, until when, and what happens to their data.

Face crops are personal data. Every fine-tune item carries a `consent_ref`: either a participant id
registered here or `public:<dataset>` for public research data; a crop cut from a video also records
its raw track, and a link made later to that track overrides the reference (`crop_owners`), so
what was cut before linking is governed, exported and deleted as that person's. Fine-tuning uses an
item only while its consent covers the `finetune` scope; exported clips blur faces whose track is not linked to a
participant with `clips` consent (`face_blur`). A participant can get a copy of their data (`export_person`) or
have it deleted (`delete_person`): crops and manifest rows go, so do the export folders (clips, reel,
lists) of the videos they appear in, their name is scrubbed, and every model trained on them is
flagged as needing retraining. What it does not cover is listed in docs/finetune.md. Nothing leaves the machine.

Track links name the tracker's raw tracks (`ScoreCache.raw_track_ids`), never stitched person ids:
stitching joins tracks by time, place and size only, so one person id may cover two people taking
turns at one spot, and person ids change when stitching does. `person_tracks` turns a person of the
timeline into its raw tracks for linking.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from laughvid.atomic import copy_atomic, write_text_atomic
from laughvid.clock import now_iso, today_utc
from laughvid.errors import ConsentError
from laughvid.export.naming import video_export_dirs
from laughvid.lifecycle.manifest import STAGING_PREFIX, read_manifest, write_manifest
from laughvid.lifecycle.registry import flag_models, flag_models_trained_on, models_trained_on, models_trained_on_set

UNTRACED_WHY = (
    "cut before fine-tune manifests recorded raw tracks, or on another analysis of the video than their link, from a video "
    "they are linked in: which face such a crop shows is not known, so it may be theirs"
)
SCOPES = ("finetune", "clips")  # finetune: crops may train models; clips: face may appear unblurred
PUBLIC_PREFIX = "public:"  # consent_ref of items from a public data set, e.g. "public:CK+"


@dataclass(frozen=True)
class Participant:
    """One person who agreed (or not) to have their face data used."""

    participant_id: str
    name: str
    scopes: tuple[str, ...]
    consented_on: date
    expires_on: date | None = None
    withdrawn_on: date | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if not self.participant_id or self.participant_id.startswith(PUBLIC_PREFIX) or "," in self.participant_id:
            raise ConsentError(f"invalid participant id {self.participant_id!r} (non-empty, no comma, not '{PUBLIC_PREFIX}...')")
        unknown = set(self.scopes) - set(SCOPES)
        if unknown:
            raise ConsentError(f"unknown consent scope(s) {sorted(unknown)}; known: {', '.join(SCOPES)}")
        if self.expires_on and self.expires_on < self.consented_on:
            raise ConsentError(f"consent of {self.participant_id} expires ({self.expires_on}) before it was given ({self.consented_on})")

    def allows(self, scope: str, on: date) -> bool:
        """Whether this consent covers `scope` on day `on` (given, not expired, not withdrawn)."""
        return (
            scope in self.scopes
            and self.consented_on <= on
            and (self.expires_on is None or on <= self.expires_on)
            and (self.withdrawn_on is None or on < self.withdrawn_on)
        )

    def active(self, on: date) -> bool:
        """Whether any of their consent holds on day `on`: who may be linked to a face today."""
        return any(self.allows(scope, on) for scope in self.scopes)


@dataclass(frozen=True)
class ConsentCheck:
    ok: bool
    reason: str


@dataclass
class DeletionReport:
    """What `delete_person` removed, so the operator can confirm it and audit it later."""

    participant_id: str
    crops_deleted: list[str] = field(default_factory=list)  # all of them, `crops_untraced` included
    crops_untraced: list[str] = field(default_factory=list)  # deleted as they may show them: see UNTRACED_WHY
    manifest_rows_deleted: int = 0
    track_links_deleted: int = 0
    models_flagged: list[str] = field(default_factory=list)
    exports_deleted: list[str] = field(default_factory=list)  # export folders of the videos they were linked in
    exports_kept: list[str] = field(default_factory=list)  # the same, left on disk (asked to, or could not: why)
    staging_deleted: list[str] = field(default_factory=list)  # crops of an interrupted fine-tune export: anyone's faces


def _row_to_participant(row: sqlite3.Row | tuple) -> Participant:
    pid, name, scopes, consented, expires, withdrawn, note = row
    return Participant(
        participant_id=pid,
        name=name,
        scopes=tuple(s for s in scopes.split(",") if s),
        consented_on=date.fromisoformat(consented),
        expires_on=date.fromisoformat(expires) if expires else None,
        withdrawn_on=date.fromisoformat(withdrawn) if withdrawn else None,
        note=note,
    )


_COLUMNS = "participant_id, name, scopes, consented_on, expires_on, withdrawn_on, note"


def add_participant(conn: sqlite3.Connection, p: Participant) -> None:
    """Register a participant; refuses to overwrite an existing id (use `withdraw` to change) and a
    consent that covers nothing (a record that allows no use is a mistake, not a consent)."""
    if not p.scopes:
        raise ConsentError(f"participant {p.participant_id!r}: choose what they consented to ({', '.join(SCOPES)})")
    try:
        with conn:
            conn.execute(
                f"INSERT INTO participants ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    p.participant_id,
                    p.name,
                    ",".join(p.scopes),
                    p.consented_on.isoformat(),
                    p.expires_on.isoformat() if p.expires_on else None,
                    p.withdrawn_on.isoformat() if p.withdrawn_on else None,
                    p.note,
                ),
            )
    except sqlite3.IntegrityError as exc:
        raise ConsentError(f"participant {p.participant_id!r} is already registered") from exc


def get_participant(conn: sqlite3.Connection, participant_id: str) -> Participant | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM participants WHERE participant_id = ?", (participant_id,)).fetchone()
    return _row_to_participant(row) if row else None


def list_participants(conn: sqlite3.Connection) -> list[Participant]:
    return [_row_to_participant(r) for r in conn.execute(f"SELECT {_COLUMNS} FROM participants ORDER BY participant_id")]


def active_participants(conn: sqlite3.Connection, on: date | None = None) -> list[Participant]:
    """Participants whose consent holds for some use on `on` (default today): who a face may be linked to."""
    on = on or today_utc()
    return [p for p in list_participants(conn) if p.active(on)]


def withdraw(conn: sqlite3.Connection, participant_id: str, on: date | None = None) -> None:
    """Withdraw consent from `on` (default today): the data stays until deleted but is no longer used."""
    _require(conn, participant_id)
    with conn:
        conn.execute("UPDATE participants SET withdrawn_on = ? WHERE participant_id = ?", ((on or today_utc()).isoformat(), participant_id))


def _require(conn: sqlite3.Connection, participant_id: str) -> Participant:
    p = get_participant(conn, participant_id)
    if p is None:
        raise ConsentError(f"no participant {participant_id!r} in the consent registry")
    return p


def check_consent_ref(conn: sqlite3.Connection, ref: str, scope: str, on: date | None = None) -> ConsentCheck:
    """May data with this consent reference be used for `scope` today? Always explains why not."""
    on = on or today_utc()
    ref = (ref or "").strip()
    if not ref:
        return ConsentCheck(False, "no consent_ref (link the item to a participant or to public:<dataset>)")
    if ref.startswith(PUBLIC_PREFIX):
        if len(ref) == len(PUBLIC_PREFIX):
            return ConsentCheck(False, f"{ref!r} names no dataset")
        return ConsentCheck(True, f"public dataset {ref[len(PUBLIC_PREFIX) :]}")
    p = get_participant(conn, ref)
    if p is None:
        return ConsentCheck(False, f"participant {ref!r} is not in the consent registry")
    if p.allows(scope, on):
        return ConsentCheck(True, f"participant {ref} consented to {scope}")
    if scope not in p.scopes:
        return ConsentCheck(False, f"participant {ref} did not consent to {scope}")
    if p.withdrawn_on and on >= p.withdrawn_on:
        return ConsentCheck(False, f"participant {ref} withdrew consent on {p.withdrawn_on}")
    if p.expires_on and on > p.expires_on:
        return ConsentCheck(False, f"consent of {ref} expired on {p.expires_on}")
    return ConsentCheck(False, f"consent of {ref} starts on {p.consented_on}")


# --- faces in videos -------------------------------------------------------------------------


def link_tracks(conn: sqlite3.Connection, video_sha256: str, track_ids: Iterable[int], participant_id: str, analysis: str = "") -> None:
    """Record that these raw face tracks of a video show this participant (all or none); `analysis` is the
    fingerprint of the analysis whose raw track ids these are (`AnalysisRecord.fingerprint`)."""
    _require(conn, participant_id)
    with conn:
        conn.executemany(
            "INSERT OR REPLACE INTO track_participants (video_sha256, track_id, participant_id, analysis) VALUES (?, ?, ?, ?)",
            [(video_sha256, int(t), participant_id, analysis) for t in track_ids],
        )


def unlink_tracks(conn: sqlite3.Connection, video_sha256: str, track_ids: Iterable[int]) -> int:
    """Remove the links of these raw tracks of a video (their faces are blurred again); returns how many went."""
    with conn:
        return conn.executemany(
            "DELETE FROM track_participants WHERE video_sha256 = ? AND track_id = ?", [(video_sha256, int(t)) for t in track_ids]
        ).rowcount


def _same_analysis(a: str, b: str) -> bool:
    """Whether raw track ids recorded under analyses `a` and `b` name the same faces ('' = not recorded:
    links and crops made before analyses were recorded are matched as they always were)."""
    return not a or not b or a == b


def track_links(conn: sqlite3.Connection, video_sha256: str, analysis: str = "") -> dict[int, str]:
    """Every linked raw track of a video and the participant it shows; with `analysis`, only links whose raw
    ids are that analysis's (`_same_analysis`): another analysis's track 3 may be someone else's face."""
    rows = conn.execute("SELECT track_id, participant_id, analysis FROM track_participants WHERE video_sha256 = ?", (video_sha256,))
    return {int(t): p for t, p, a in rows if _same_analysis(analysis, a)}


def tracks_without_consent(
    conn: sqlite3.Connection,
    video_sha256: str,
    track_ids: Iterable[int],
    scope: str = "clips",
    on: date | None = None,
    analysis: str = "",
) -> set[int]:
    """Raw tracks of a video whose face must be blurred: not linked to anyone, or consent not covering
    `scope` (`check_consent_ref`, the check the app's People panel shows). With `analysis` (the fingerprint
    of the analysis these raw ids come from) a link made on another analysis does not count: its track 3
    may be another face, which then stays blurred."""
    linked = track_links(conn, video_sha256, analysis)
    return {int(tid) for tid in track_ids if int(tid) not in linked or not check_consent_ref(conn, linked[int(tid)], scope, on).ok}


# --- a person's data in fine-tune sets ---------------------------------------------------------


def _raw_track(row: dict[str, str]) -> tuple[str, int] | None:
    """The (video sha256, raw track id) a crop was cut from, or None where its manifest did not record it."""
    try:
        return (row.get("video_sha256") or "").strip(), int((row.get("raw_track_id") or "").strip())
    except ValueError:
        return None


Links = dict[tuple[str, int], tuple[str, str]]  # (video sha256, raw track id) -> (participant, analysis)


def _analysis(row: dict[str, str]) -> str:
    return (row.get("analysis") or "").strip()


def _linked(row: dict[str, str], links: Links) -> str:
    """The participant a crop's raw track is linked to in `links` on the crop's analysis, or "" (unlinked,
    not recorded, or linked on another analysis: then which face the crop shows is not known)."""
    raw = _raw_track(row)
    participant, analysis = links.get(raw, ("", "")) if raw else ("", "")
    return participant if _same_analysis(_analysis(row), analysis) else ""


def _owner(row: dict[str, str], links: Links) -> str:
    return _linked(row, links) or (row.get("consent_ref") or "").strip()


def _all_links(conn: sqlite3.Connection) -> Links:
    rows = conn.execute("SELECT video_sha256, track_id, participant_id, analysis FROM track_participants")
    return {(v, int(t)): (p, a) for v, t, p, a in rows}


def _untraced(row: dict[str, str], analyses: set[str]) -> bool:
    """Whether a crop of a video a participant is linked in on `analyses` may show them although no link
    traces it: no raw track recorded, or cut on another analysis than one of those links."""
    return bool(analyses) and (_raw_track(row) is None or not all(_same_analysis(_analysis(row), a) for a in analyses))


@dataclass(frozen=True)
class CropOwner:
    """Who a fine-tune crop belongs to now, through today's track links (a link made after the crop was
    cut governs it: a withdrawal or an expiry stops its use even if it was cut under `public:...`)."""

    consent_ref: str  # the participant its raw track is linked to, else its manifest's `consent_ref`
    # its split group: that participant, else its manifest's `group`; crops cut before a link keep
    # `video-<hash>` in the manifest, so resolved here one person is one group whatever the order of
    # linking and cutting, and cannot sit on both sides of the frozen validation split
    group: str
    # participants linked in its video (other than its owner) for whom it is untraced, as `delete_person`
    # resolves it: it may show them, so it is used only while their consent covers fine-tuning (`check_untraced`)
    untraced_for: tuple[str, ...]


def crop_owners(conn: sqlite3.Connection | None, rows: Sequence[dict[str, str]]) -> list[CropOwner]:
    """`CropOwner` of each manifest row, the links read once (None: no store, the manifest's own words)."""
    links = _all_links(conn) if conn is not None else {}
    analyses: dict[str, dict[str, set[str]]] = {}  # video -> participant -> the analyses of their links there
    for (video, _), (p, a) in links.items():
        analyses.setdefault(video, {}).setdefault(p, set()).add(a)
    owners = []
    for row in rows:
        linked = _linked(row, links)
        ref = linked or (row.get("consent_ref") or "").strip()
        in_video = analyses.get((row.get("video_sha256") or "").strip(), {})
        untraced = tuple(sorted(p for p, a in in_video.items() if p != ref and _untraced(row, a)))
        owners.append(CropOwner(ref, linked or (row.get("group") or "").strip(), untraced))
    return owners


def check_untraced(conn: sqlite3.Connection, participants: Iterable[str], on: date | None = None) -> ConsentCheck:
    """May a crop that is untraced for these participants (`CropOwner.untraced_for`) be used? Only while each of
    them consents to fine-tuning: it may be their face, though it still carries its own `consent_ref`. Consent
    that expired, has not started, never covered `finetune` or is not in the registry stops it as a withdrawal does."""
    for pid in participants:
        check = check_consent_ref(conn, pid, "finetune", on)
        if not check.ok:
            return ConsentCheck(
                False,
                f"may show {pid} ({check.reason}): cut on another analysis of a video they are linked in "
                "(or before crops recorded raw tracks), so which face it shows is not known; to use the video's other faces, "
                "remove its crops, re-add them to the set from the analysis the links were made on, and link its people there",
            )
    return ConsentCheck(True, "everyone it may show consents to fine-tuning")


def check_crop(conn: sqlite3.Connection, owner: CropOwner, on: date | None = None) -> ConsentCheck:
    """May a fine-tune crop train models on day `on`: its owner's consent covers `finetune`, and so does that of
    everyone it may show untraced. The one check fine-tuning and the fine-tune export's message make."""
    check = check_consent_ref(conn, owner.consent_ref, "finetune", on)
    return check_untraced(conn, owner.untraced_for, on) if check.ok else check


@dataclass
class PersonRows:
    """A set's manifest rows and which of them hold a participant's face."""

    set_dir: Path
    rows: list[dict[str, str]]
    mine: list[dict[str, str]]  # cut from a raw track linked to them, or not linked now and under their consent_ref
    untraced: list[dict[str, str]]  # of a video they are linked in, no raw track recorded or recorded on another analysis


def _person_rows(conn: sqlite3.Connection, set_dirs: list[Path], participant_id: str) -> Iterator[PersonRows]:
    """Each set's rows of a participant, whose they are as `crop_owners` says. Crops name raw tracks
    and links are looked up now, so the order of linking and cutting does not matter, and a track linked
    to someone else since it was cut is theirs (a corrected link: not copied to, nor deleted with, the
    first). Rows that cannot be traced to a face, of a video the participant is linked in, may show them
    (`untraced`): written before manifests recorded raw tracks, or cut on another analysis than one of
    their links there (re-analysing with other settings renumbers raw tracks)."""
    links = _all_links(conn)
    analyses: dict[str, set[str]] = {}  # video -> the analyses their links there were made on
    for (v, _), (p, a) in links.items():
        if p == participant_id:
            analyses.setdefault(v, set()).add(a)
    for set_dir in set_dirs:
        rows = read_manifest(set_dir)
        found = PersonRows(set_dir, rows, [], [])
        for row in rows:
            video = (row.get("video_sha256") or "").strip()
            if _owner(row, links) == participant_id:
                found.mine.append(row)
            elif _untraced(row, analyses.get(video, set())):
                found.untraced.append(row)
        yield found


def export_person(conn: sqlite3.Connection, participant_id: str, set_dirs: list[Path], out_dir: Path) -> Path:
    """Copy everything held about a participant into `out_dir` (a local folder: nothing is uploaded):
    the consent record, their crops, their manifest rows, linked tracks and the models trained on them."""
    p = _require(conn, participant_id)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    crops: list[dict[str, str]] = []
    untraced: list[str] = []
    folders: set[str] = set()
    for found in _person_rows(conn, [Path(d) for d in set_dirs], participant_id):
        # one folder per set: two sets of the same name (the app's and a --set one) must not overwrite each other's copies
        folder = next(f for i in range(1, len(set_dirs) + 2) if (f := found.set_dir.name + (f"-{i}" if i > 1 else "")) not in folders)
        folders.add(folder)
        for row in found.mine:
            src = found.set_dir / row["path"]
            copy = Path("crops") / folder / row["path"]
            if src.exists():
                copy_atomic(src, out_dir / copy)
            crops.append({**row, "set": str(found.set_dir), "copy": copy.as_posix() if src.exists() else ""})
        untraced += [str(found.set_dir / r["path"]) for r in found.untraced]
    tracks = conn.execute("SELECT video_sha256, track_id FROM track_participants WHERE participant_id = ?", (participant_id,)).fetchall()
    record = {
        "participant": {
            **asdict(p),
            "consented_on": str(p.consented_on),
            "expires_on": str(p.expires_on or ""),
            "withdrawn_on": str(p.withdrawn_on or ""),
        },
        "fine_tune_items": crops,
        # named, not copied: they may show someone else of the same video
        "fine_tune_items_untraced": {"why": UNTRACED_WHY, "paths": untraced},
        # whether fine-tuning may use their crops, and the untraced ones, today (`check_crop`)
        "finetune_consent_today": asdict(check_consent_ref(conn, participant_id, "finetune")),
        "video_tracks": [{"video_sha256": v, "track_id": t} for v, t in tracks],
        "models_trained_on_this_data": models_trained_on(conn, participant_id),
        "exported_at": now_iso(),
    }
    path = out_dir / f"{participant_id}.json"
    write_text_atomic(path, json.dumps(record, indent=2, ensure_ascii=False))
    return path


def delete_person(
    conn: sqlite3.Connection, participant_id: str, set_dirs: list[Path], export_roots: Sequence[Path] = (), keep_exports: bool = False
) -> DeletionReport:
    """Erase a participant's face data: crops and manifest rows in every given set (those of their consent
    reference, those cut from a raw track linked to them whenever it was linked, and, as they may show
    them, those of their videos whose manifest did not record the raw track), the export folders
    under `export_roots` of every video one of their faces is linked in, their track links, their name
    (the id stays, withdrawn, so the deletion itself is auditable), and flag every model trained on
    them as needing retraining: those that recorded them, and, for crops that were not under their id
    (cut before the link), every model fine-tuned on that set (when such a crop entered the set is not
    known: a review edit renews `reviewed_at` and re-exporting re-cuts the crops). Models are flagged
    before anything is deleted and manifests are rewritten atomically after the crops go, so a deletion
    killed midway and run again finishes the job (its crops' rows are what name those models).

    Why whole export folders: exports are not recorded per face, so any clip, the reel or a list of such a
    video may show them (unblurred where they had clips consent); all of it is made again from the store.
    Found only while their links exist, so with `keep_exports` the folders are listed, never found again."""
    _require(conn, participant_id)
    report = DeletionReport(participant_id)
    found_sets = list(_person_rows(conn, [Path(d) for d in set_dirs], participant_id))
    # models that may have trained on crops not under their id when trained: no model recorded them
    suspects = {
        v
        for found in found_sets
        if any((r.get("consent_ref") or "").strip() != participant_id for r in found.mine + found.untraced)
        for v in models_trained_on_set(conn, found.set_dir)
    }
    reason = f"data of {participant_id} deleted"
    named = flag_models_trained_on(conn, participant_id, reason)
    report.models_flagged = sorted({*named, *flag_models(conn, sorted(suspects - set(named)), reason)})
    videos = [
        v for (v,) in conn.execute("SELECT DISTINCT video_sha256 FROM track_participants WHERE participant_id = ?", (participant_id,))
    ]
    for folder in sorted({d for root in export_roots for v in videos for d in video_export_dirs(root, v)}):
        if keep_exports:
            report.exports_kept.append(str(folder))
            continue
        try:
            shutil.rmtree(folder)
            report.exports_deleted.append(str(folder))
        except OSError as exc:
            report.exports_kept.append(f"{folder} (could not delete: {exc.strerror or exc})")
    for found in found_sets:
        gone = found.mine + found.untraced
        try:
            for row in gone:
                crop = found.set_dir / row["path"]
                crop.unlink(missing_ok=True)
                report.crops_deleted.append(str(crop))
            if gone:
                # the set's own columns (a hand-made manifest may have fewer or more than the UI writes)
                rows = found.rows
                write_manifest(found.set_dir, [r for r in rows if r not in gone], fields=[k for k in rows[0] if k is not None])
                report.manifest_rows_deleted += len(gone)
            for staging in sorted(found.set_dir.glob(STAGING_PREFIX + "*")):  # no manifest names their faces: may be theirs
                shutil.rmtree(staging)
                report.staging_deleted.append(str(staging))
        except OSError as exc:  # their links and rows stay, so running it again finds the rest
            raise ConsentError(
                f"deletion of {participant_id} stopped at {exc.filename or found.set_dir} ({exc.strerror or exc}); "
                f"{len(report.crops_deleted)} crop(s) were deleted, models were flagged; fix that and run it again to finish"
            ) from exc
        report.crops_untraced += [str(found.set_dir / r["path"]) for r in found.untraced]
    with conn:
        report.track_links_deleted = conn.execute("DELETE FROM track_participants WHERE participant_id = ?", (participant_id,)).rowcount
        conn.execute(
            "UPDATE participants SET name = '', note = 'data deleted', withdrawn_on = COALESCE(withdrawn_on, ?) WHERE participant_id = ?",
            (today_utc().isoformat(), participant_id),
        )
    return report
