"""People are shown by the name of the participant linked to their faces, else as "person N", alike in
the timeline legend, the segment list, the review queue, the crop preview's captions and `review-next`."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from loop_helpers import store_analysis, turns_cache, turns_video

from laughvid.cli import EXIT_OK, main
from laughvid.governance.consent import Participant, add_participant, link_tracks, tracks_without_consent
from laughvid.governance.people import find_person, link_person, person_names
from laughvid.pipeline.analyze import load_result
from laughvid.store import open_store
from laughvid.types import PersonNames, ReviewedSegment, ScoreCache, Segment
from laughvid.ui import actions, review_panel, series_route
from laughvid.ui.timeline_payload import series_payload


def two_people() -> ScoreCache:
    """`turns_cache` (person 0: raw tracks 0 and 1, one face taking turns) and a second face in view the
    whole time, raw track 5 (person 5: never stitched to person 0, as they are seen at once)."""
    one = turns_cache()
    n = len(one.frame_times_s)
    return ScoreCache(
        one.frame_times_s,
        np.concatenate([one.times_s, one.frame_times_s]),
        np.concatenate([one.track_ids, np.full(n, 5)]),
        np.concatenate([one.boxes, np.tile([250.0, 60.0, 310.0, 120.0], (n, 1))]),
        np.concatenate([one.confidences, np.full(n, 0.9)]),
        np.concatenate([one.probs, np.full(n, 0.8)]),
        np.concatenate([one.detected, np.ones(n, bool)]),
    )


@pytest.fixture
def store(tmp_path, monkeypatch):
    """The CLI's and the app's store with an analysis of two people, and two registered participants."""
    monkeypatch.setenv("LAUGHVID_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LAUGHVID_STORE", raising=False)
    conn = open_store()
    add_participant(conn, Participant("p01", "Kim Minji", ("clips",), date(2026, 1, 1)))
    add_participant(conn, Participant("p02", "", ("clips",), date(2026, 1, 1)))  # no name given (or deleted since)
    record = store_analysis(conn, turns_video(tmp_path / "turns.mp4"), two_people())
    return conn, record


def test_a_person_is_named_after_the_participant_every_face_of_theirs_is_linked_to(store):
    conn, record = store
    names = person_names(conn, record)
    assert sorted(load_result(conn, record.id).tracks) == [0, 5] and (names(0), names(5)) == ("person 0", "person 5")
    link_person(conn, find_person(conn, record.sha256, 0), "p01", [1])  # one of person 0's two faces
    assert person_names(conn, record)(0) == "person 0 (partly Kim Minji)"  # the name alone would cover raw track 0's face too
    link_person(conn, find_person(conn, record.sha256, 0), "p01")
    link_person(conn, find_person(conn, record.sha256, 5), "p02")
    names = person_names(conn, record)
    assert (names(0), names(5)) == ("Kim Minji", "p02")  # no name: their id
    link_tracks(conn, record.sha256, [1], "p02", record.fingerprint)  # stitching joined two people
    assert person_names(conn, record)(0) == "person 0 (partly Kim Minji, p02)"


def test_a_link_made_on_another_analysis_does_not_name_anyone(store):
    """Another analysis's raw track 5 may be another face (as for blurring): person 5 keeps its number, and the
    People panel says its face is not linked (it said "linked to p01 ...: not blurred" while clips blurred it)."""
    conn, record = store
    link_tracks(conn, record.sha256, [5], "p01", analysis="another-analysis")
    assert person_names(conn, record)(5) == "person 5" and person_names(conn, record).linked == {}
    panel = {entry.person.person_id: entry.tracks for entry in actions.people_links(conn, load_result(conn, record.id))}
    assert [t.status for t in panel[5]] == ["not linked: blurred when blurring is on"]
    assert tracks_without_consent(conn, record.sha256, [5], analysis=record.fingerprint) == {5}  # what clips blur


def test_the_app_names_people_in_the_legend_the_segment_list_and_the_review_queue(store):
    """The legend said "person 0" and the segment list "0 5" for a face linked to Kim Minji."""
    conn, record = store
    smoothing = actions.Tuning.default().smoothing()
    before = actions.open_video(conn, record, smoothing)
    link_person(conn, find_person(conn, record.sha256, 0), "p01")
    view = actions.open_video(conn, record, smoothing)
    assert view.names(0) == "Kim Minji" and view.names(5) == "person 5"
    result = view.result
    curves = series_payload(series=result.series, tracks=result.tracks, threshold=0.5, names=view.names)
    assert [line["label"] for line in curves["lanes"][0]["lines"]] == ["any face", "Kim Minji", "person 5"]
    # the curves' URL changes with the names, so the browser's cached legend is not the old one
    assert series_route.curves_key(result, view.names) != series_route.curves_key(before.result, before.names)
    segment = ReviewedSegment(Segment(0.0, 1.0, 0.9, 0.8, (0, 5)))
    assert review_panel._table([segment], view.names)["people"].tolist() == ["Kim Minji, person 5"]
    moments = actions.unsure_moments(conn, None, smoothing, count=20)
    assert {m.track_id: m.person for m in moments} == {0: "Kim Minji", 5: "person 5"}


def test_review_next_names_people_as_the_app_does(store, capsys):
    conn, record = store
    link_person(conn, find_person(conn, record.sha256, 0), "p01")
    assert main(["review-next", "-k", "20"]) == EXIT_OK
    out = capsys.readouterr().out
    assert " person " in out.splitlines()[0]  # the column header
    assert "Kim Minji" in out and "person 5" in out and "person 0" not in out


def test_unnamed_people_read_person_n():
    assert PersonNames()(3) == "person 3" and PersonNames({3: "Kim"})(3) == "Kim"
