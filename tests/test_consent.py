"""Consent registry: what may be used, export of a person's data, deletion, face blurring, and
linking a person of a video face by face (its raw tracks)."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import cv2
import pytest
from loop_helpers import loop_db, store_analysis, turns_cache, turns_video, write_set

from laughvid.cli import EXIT_OK, EXIT_USAGE, main
from laughvid.config import Settings
from laughvid.export.contact_sheet import caption_height
from laughvid.governance.consent import (
    ConsentError,
    Participant,
    active_participants,
    add_participant,
    check_consent_ref,
    delete_person,
    export_person,
    get_participant,
    link_tracks,
    track_links,
    tracks_without_consent,
    unlink_tracks,
    withdraw,
)
from laughvid.governance.people import THUMB, find_person, link_person
from laughvid.lifecycle import registry
from laughvid.lifecycle.manifest import MANIFEST_COLUMNS, read_manifest, write_manifest
from laughvid.pipeline.analyze import list_videos, load_result
from laughvid.pipeline.faces.detector import FaceDetector
from laughvid.store import file_sha256, open_store
from laughvid.ui.actions import export_dir, people_links

DAY = date(2026, 6, 1)


@pytest.fixture
def conn():
    c = loop_db()
    add_participant(c, Participant("p01", "Kim Minji", ("finetune", "clips"), date(2026, 1, 1), date(2026, 12, 31)))
    add_participant(c, Participant("p02", "Lee Jun", ("finetune",), date(2026, 1, 1)))
    return c


def test_consent_checks_scope_dates_and_public_data(conn):
    assert check_consent_ref(conn, "p01", "finetune", DAY).ok
    assert check_consent_ref(conn, "public:CK+", "finetune", DAY).ok
    refusals = {
        ("p02", "clips", DAY): "did not consent to clips",
        ("p01", "finetune", date(2027, 1, 1)): "expired on 2026-12-31",
        ("p01", "finetune", date(2025, 12, 31)): "starts on 2026-01-01",
        ("p99", "finetune", DAY): "not in the consent registry",
        ("", "finetune", DAY): "no consent_ref",
        ("public:", "finetune", DAY): "names no dataset",
    }
    for (ref, scope, on), reason in refusals.items():
        check = check_consent_ref(conn, ref, scope, on)
        assert not check.ok and reason in check.reason
    withdraw(conn, "p01", on=date(2026, 3, 1))
    assert "withdrew consent on 2026-03-01" in check_consent_ref(conn, "p01", "finetune", DAY).reason


def test_bad_records_are_refused_with_a_reason(conn):
    with pytest.raises(ConsentError, match="already registered"):
        add_participant(conn, Participant("p01", "Someone else", ("finetune",), DAY))
    with pytest.raises(ConsentError, match="unknown consent scope"):
        Participant("p03", "X", ("marketing",), DAY)
    with pytest.raises(ConsentError, match="expires"):
        Participant("p03", "X", ("finetune",), DAY, date(2026, 1, 1))
    with pytest.raises(ConsentError, match="invalid participant id"):
        Participant("public:x", "X", ("finetune",), DAY)
    with pytest.raises(ConsentError, match="no participant"):
        link_tracks(conn, "abc", [1], "nobody")
    with pytest.raises(ConsentError, match="choose what they consented to"):
        add_participant(conn, Participant("p03", "X", (), DAY))
    assert get_participant(conn, "p03") is None


def test_active_participants_are_those_a_face_may_be_linked_to(conn):
    add_participant(conn, Participant("p03", "Park", ("clips",), date(2026, 9, 1)))  # not given yet on DAY
    withdraw(conn, "p02", on=date(2026, 3, 1))
    assert [p.participant_id for p in active_participants(conn, DAY)] == ["p01"]
    assert [p.participant_id for p in active_participants(conn, date(2026, 2, 1))] == ["p01", "p02"]
    assert [p.participant_id for p in active_participants(conn, date(2027, 1, 1))] == ["p03"]  # p01 expired


def test_links_are_listed_and_undone_per_raw_track(conn):
    link_tracks(conn, "vid", [1, 2], "p01")
    link_tracks(conn, "other", [1], "p02")
    assert track_links(conn, "vid") == {1: "p01", 2: "p01"}
    assert unlink_tracks(conn, "vid", [2, 5]) == 1  # 5 was never linked
    assert track_links(conn, "vid") == {1: "p01"} and track_links(conn, "other") == {1: "p02"}
    assert tracks_without_consent(conn, "vid", [1, 2], on=DAY) == {2}


def test_tracks_without_clip_consent_are_the_ones_to_blur(conn):
    link_tracks(conn, "vid", [1], "p01")
    link_tracks(conn, "vid", [2], "p02")  # consented to fine-tuning only
    assert tracks_without_consent(conn, "vid", [1, 2, 3], on=DAY) == {2, 3}


def test_export_then_delete_a_person(conn, tmp_path):
    ft = write_set(tmp_path / "set", {"p01": (2, 1), "p02": (1, 2)})
    registry.register(conn, registry.ModelRecord("smile-ft-a", str(tmp_path), participants=["p01", "p02"]))
    registry.register(conn, registry.ModelRecord("smile-ft-b", str(tmp_path / "b"), participants=["p02"]))
    link_tracks(conn, "vid", [4], "p01")

    exported = json.loads(export_person(conn, "p01", [ft], tmp_path / "export").read_text())
    assert len(exported["fine_tune_items"]) == 3
    assert exported["models_trained_on_this_data"] == ["smile-ft-a"]
    assert exported["video_tracks"] == [{"video_sha256": "vid", "track_id": 4}]
    assert len(list((tmp_path / "export" / "crops").rglob("*.png"))) == 3

    report = delete_person(conn, "p01", [ft])
    assert len(report.crops_deleted) == 3 and report.manifest_rows_deleted == 3 and report.track_links_deleted == 1
    assert report.models_flagged == ["smile-ft-a"]
    assert "p01" in registry.get(conn, "smile-ft-a").needs_retraining
    assert registry.get(conn, "smile-ft-b").needs_retraining is None
    with open(ft / "manifest.csv", newline="") as f:
        left = list(csv.DictReader(f))
    assert {r["consent_ref"] for r in left} == {"p02"} and len(left) == 3  # others' rows kept
    assert sorted(p.name for p in ft.rglob("*.png")) == sorted(r["path"].split("/")[1] for r in left)
    assert list(left[0]) == list(MANIFEST_COLUMNS)  # the set keeps its columns
    gone = get_participant(conn, "p01")
    assert gone.name == "" and gone.withdrawn_on is not None  # the deletion stays auditable, the name does not
    assert not check_consent_ref(conn, "p01", "finetune").ok


def test_deleting_from_a_hand_made_manifest_keeps_its_own_columns(conn, tmp_path):
    (tmp_path / "set" / "smile").mkdir(parents=True)
    rows = [{"path": f"smile/{who}.png", "label": "smile", "consent_ref": who, "note": "hand-made"} for who in ("p01", "p02")]
    for r in rows:
        (tmp_path / "set" / r["path"]).write_bytes(b"png")
    write_manifest(tmp_path / "set", rows, fields=["path", "label", "consent_ref", "note"])
    delete_person(conn, "p01", [tmp_path / "set"])
    assert read_manifest(tmp_path / "set") == rows[1:]


@pytest.fixture
def turns(tmp_path, monkeypatch):
    """The CLI's store with an analysis of `turns_video` (person 0 = raw tracks 0 and 1) and p01 consenting to clips."""
    monkeypatch.setenv("LAUGHVID_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LAUGHVID_STORE", raising=False)
    conn = open_store()
    add_participant(conn, Participant("p01", "Kim Minji", ("clips",), date(2026, 1, 1)))
    video = turns_video(tmp_path / "turns.mp4")
    store_analysis(conn, video, turns_cache())
    return conn, video


def links(conn) -> list[tuple[int, str]]:
    return conn.execute("SELECT track_id, participant_id FROM track_participants ORDER BY track_id").fetchall()


def test_linking_a_person_links_and_lists_each_of_its_raw_tracks(turns, capsys):
    conn, video = turns
    assert main(["consent", "link", str(video), "0", "p01"]) == EXIT_OK
    assert links(conn) == [(0, "p01"), (1, "p01")]
    head, *tracks = capsys.readouterr().out.splitlines()
    assert head.startswith("person 0 of turns.mp4") and head.endswith("2 raw track(s)")
    assert re.fullmatch(r"\s+raw track 0\s+0\.0-0\.9 s\s+10 detections\s+linked to p01", tracks[0])
    assert re.fullmatch(r"\s+raw track 1\s+2\.2-2\.9 s\s+8 detections\s+linked to p01", tracks[1])
    # the links record the analysis their raw ids come from, so a re-analysis's renumbered tracks are not matched to them
    analysed = {r.fingerprint for r in list_videos(conn)}
    assert {a for (a,) in conn.execute("SELECT analysis FROM track_participants")} == analysed and "" not in analysed


def test_a_video_is_named_as_export_names_it(turns, tmp_path, capsys, monkeypatch):
    """By its file name in the library or a sha256 prefix, from any folder (was: the file or the full
    sha256 only, and a name was refused as "no finished analysis of video turns.mp4")."""
    conn, video = turns
    monkeypatch.chdir(tmp_path / "home")  # not where the video is
    assert main(["consent", "link", "turns.mp4", "0", "p01", "--sheet", "p.png", "--dry-run"]) == EXIT_OK
    assert capsys.readouterr().out.startswith("person 0 of turns.mp4") and (tmp_path / "home" / "p.png").is_file()
    assert main(["consent", "link", file_sha256(video)[:10], "0", "p01"]) == EXIT_OK
    assert links(conn) == [(0, "p01"), (1, "p01")]
    assert main(["consent", "link", "other.mp4", "0", "p01"]) == EXIT_USAGE
    assert "other.mp4: no such file, and no analysed video has that name, analysis id or sha256" in capsys.readouterr().err


def test_tracks_links_only_those_and_a_wrong_id_links_nothing(turns, capsys):
    conn, video = turns
    assert main(["consent", "link", str(video), "0", "p01", "--tracks", "1,7"]) == EXIT_USAGE
    assert "raw track(s) 7 not part of person 0 (its raw tracks: 0, 1)" in capsys.readouterr().err
    assert main(["consent", "link", str(video), "1", "p01"]) == EXIT_USAGE  # a raw id is not a person: says whose it is
    assert "raw track 1 is part of person 0" in capsys.readouterr().err
    assert main(["consent", "link", str(video), "0", "p99"]) == EXIT_USAGE
    assert links(conn) == []
    assert main(["consent", "link", str(video), "0", "p01", "--tracks", "1"]) == EXIT_OK
    assert links(conn) == [(1, "p01")]
    assert re.search(r"raw track 0 .* not linked \(not in --tracks\)", capsys.readouterr().out)


def test_contact_sheet_shows_one_face_per_raw_track_and_a_dry_run_links_nothing(turns, tmp_path, capsys):
    conn, video = turns
    sheet = tmp_path / "check" / "person0.png"
    assert main(["consent", "link", str(video), "0", "p01", "--sheet", str(sheet), "--dry-run"]) == EXIT_OK
    assert links(conn) == [] and "would link to p01 (dry run)" in capsys.readouterr().out
    image = cv2.cvtColor(cv2.imread(str(sheet)), cv2.COLOR_BGR2RGB)
    assert image.shape == (THUMB + caption_height(2), 2 * THUMB, 3)  # one row of two thumbnails, captioned
    detector = FaceDetector()
    for x in (0, THUMB):
        assert detector.detect(image[:THUMB, x : x + THUMB])  # each tile shows its track's face
    assert main(["consent", "link", str(video), "0", "p01", "--sheet", str(tmp_path / "sheet.jpg")]) == EXIT_USAGE
    assert "give a file name ending in .png" in capsys.readouterr().err and links(conn) == []


def _exports_of(root, record, name=None):
    """An export folder as the app or `laughvid export --out root` writes it: clips, reel, lists."""
    folder = export_dir(root, replace(record, path=str(Path(record.path).with_name(name))) if name else record)
    (folder / "clips").mkdir(parents=True)
    for part in ("clips/turns_clip01_0.00-2.00.mp4", "turns_highlights.mp4", "turns_segments.csv"):
        (folder / part).write_bytes(b"media")
    return folder


@pytest.mark.parametrize("keep", [False, True])
def test_deleting_a_person_deletes_or_lists_the_exports_of_their_videos(turns, tmp_path, capsys, keep):
    conn, video = turns
    assert main(["consent", "link", str(video), "0", "p01", "--sheet", str(tmp_path / "p01.png")]) == EXIT_OK
    record = find_person(conn, file_sha256(video), 0).analysis
    app_exports, cli_exports = Settings.from_env().exports_dir, tmp_path / "cli_out"
    theirs = [_exports_of(app_exports, record), _exports_of(app_exports, record, "renamed since.mp4"), _exports_of(cli_exports, record)]
    others = _exports_of(app_exports, replace(record, sha256="f" * 64))  # a video they are not linked in
    capsys.readouterr()

    assert main(["consent", "delete", "p01", "--yes", "--exports", str(cli_exports), *(["--keep-exports"] if keep else [])]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.startswith(f"deleted p01: 0 crops, 0 manifest rows, 2 track links, {0 if keep else 3} export folder(s)")
    for folder in theirs:
        assert folder.exists() == keep
        assert (
            f"KEPT export folder of a video they appear in (may show their face unblurred): {folder}"
            if keep
            else f"deleted export folder (clips, reel, lists of a video they appear in; export again to remake it): {folder}"
        ) in out
    assert others.exists() and str(others) not in out  # other videos' exports stay
    assert (tmp_path / "p01.png").exists() and "contact sheets written with `consent link --sheet`" in out  # said, not guessed
    assert links(conn) == []


def test_link_person_refuses_a_slip_and_links_nothing(turns):
    conn, video = turns
    person = find_person(conn, file_sha256(video), 0)
    for args, error in (
        ((None,), "choose the participant person 0 shows"),
        (("p01", []), "choose at least one raw track of person 0"),
        (("p01", [0, 7]), "raw track(s) 7 not part of person 0"),
        (("p99",), "no participant 'p99'"),
    ):
        with pytest.raises(ValueError, match=re.escape(error)):
            link_person(conn, person, *args)
    assert links(conn) == []
    assert [t.track_id for t in link_person(conn, person, "p01", [1])] == [1]
    assert links(conn) == [(1, "p01")]


def test_people_links_say_per_raw_track_whom_it_shows_and_whether_it_is_blurred(turns):
    conn, video = turns
    person = find_person(conn, file_sha256(video), 0)
    add_participant(conn, Participant("p02", "Lee Jun", ("finetune",), date(2026, 1, 1)))
    link_tracks(conn, person.analysis.sha256, [0], "p01")
    link_tracks(conn, person.analysis.sha256, [1], "p02")
    (entry,) = people_links(conn, load_result(conn, person.analysis.id), on=DAY)
    assert entry.person == person and not person.fragment
    assert [(t.track.track_id, t.participant_id, t.status) for t in entry.tracks] == [
        (0, "p01", "linked to p01, who consented to clips: not blurred"),
        (1, "p02", "linked to p02, but participant p02 did not consent to clips: blurred when blurring is on"),
    ]
    unlink_tracks(conn, person.analysis.sha256, [1])
    (entry,) = people_links(conn, load_result(conn, person.analysis.id), on=DAY)
    assert entry.tracks[1].status == "not linked: blurred when blurring is on"
