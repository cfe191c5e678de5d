"""The Streamlit app's state logic, headless with AppTest: first run, review ops saved and undone,
tuning and reset, uploads with per-file failures, exports, the model selector, consent links made in
the "People in this video" panel. The real browser test is test_browser.py."""

from __future__ import annotations

import json
import re
import shutil
import time
from datetime import date

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from laughvid import review
from laughvid.config import SHIPPED_MODEL_DIR
from laughvid.errors import ReviewError, StoreError
from laughvid.governance.consent import Participant, add_participant, get_participant, track_links, tracks_without_consent
from laughvid.governance.people import find_person
from laughvid.lifecycle import registry
from laughvid.lifecycle.modelcard import ModelCard
from laughvid.store import open_store
from laughvid.ui import actions, series_route
from tests.media import astronaut_video, not_a_video

TIMEOUT = 120


@pytest.fixture
def home(tmp_path, monkeypatch):
    if not (SHIPPED_MODEL_DIR / "model.onnx").is_file():
        pytest.skip(f"needs the smile model in {SHIPPED_MODEL_DIR}")
    monkeypatch.setenv("LAUGHVID_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LAUGHVID_STORE", raising=False)
    return tmp_path / "home"


def start() -> AppTest:
    at = AppTest.from_file("../streamlit_app.py", default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def finish_export(at: AppTest) -> AppTest:
    """Rerun the page until the export it started in a thread has ended and been reported (the browser
    redraws it on a timer; AppTest has none)."""
    deadline = time.monotonic() + TIMEOUT
    while "export_job" in at.session_state:
        assert time.monotonic() < deadline, "the export never ended"
        time.sleep(0.1)
        at.run()
        assert not at.exception, [e.message for e in at.exception]
    return at


def table(at: AppTest):
    return at.dataframe[0].value


def player_data(at: AppTest) -> dict:
    """What the page handed the player-timeline component on its last run."""
    (player,) = at.get("bidi_component")
    data = json.loads(player.proto.json)
    return {**data, **series_route.published(data["series"])}  # with the curves its URL serves


def edit(home, op: str, index: int | None = None, reviewer: str = "ana", **fields) -> str:
    """What a key in the player does: the component sends this edit, the page stores it with
    `actions.timeline_edit` (the browser test drives the keys themselves)."""
    conn = open_store(home / "laughvid.sqlite")
    (record,) = actions.library(conn)[:1]
    view = actions.open_video(conn, record, actions.Tuning.default().smoothing())
    seg = None if index is None else {"id": view.items[index].id, "start": view.items[index].start_s, "end": view.items[index].end_s}
    raw = {"op": op, "nonce": "t", "seg": seg, **fields}
    return actions.timeline_edit(conn, record.sha256, view.items, actions.TimelineEdit.parse(raw), reviewer, view.duration_s)[0]


def test_first_start_analyses_the_sample_and_shows_its_timeline(home):
    at = start()
    assert at.subheader[0].value == "two_people_astronaut.mp4"
    assert any(" 2 person(s) " in c.value for c in at.caption), "the tracker's 5 tracks stitched into its 2 people"
    data = player_data(at)
    assert [line["label"] for line in data["lanes"][0]["lines"]] == ["any face", "person 0", "person 1"]
    laugh, intensity = data["lanes"]  # analysed with face geometry: the intensity lane, same people, same clock
    assert intensity["title"].startswith("laugh intensity") and data["notes"] == []
    assert [line["label"] for line in intensity["lines"]] == ["any face", "person 0", "person 1"]
    assert len(intensity["lines"][0]["p"]) == len(data["frames"]) and max(p or 0 for p in intensity["lines"][0]["p"]) > 0
    shown = [None if pd.isna(v) else v for v in table(at)["intensity"]]
    assert shown == [s["intensity"] for s in data["segments"]] and any(v is not None for v in shown)
    assert data["video"]["url"].startswith("/laughvid/video/") and data["video"]["problem"] is None
    assert len(table(at)) == len(data["segments"]) >= 1, "the sample has laugh segments to review"
    assert any("was scored by" in c.value for c in at.sidebar.caption)


def test_review_changes_are_saved_at_once_undoable_and_redoable(home):
    at = start()
    with pytest.raises(ReviewError, match="reviewer"):
        edit(home, "accept", 0, reviewer="")
    assert edit(home, "accept", 0).startswith("accepted")
    at.run()
    first = table(at).iloc[0]
    assert (first["state"], first["reviewer"]) == ("accepted", "ana")
    assert player_data(at)["segments"][0]["state"] == "accepted"

    refreshed = start()  # a browser refresh: new session, same store
    assert table(refreshed).iloc[0]["state"] == "accepted"
    edit(home, "undo")
    assert table(refreshed.run()).iloc[0]["state"] == "pending"
    edit(home, "redo")
    assert table(refreshed.run()).iloc[0]["state"] == "accepted"


def covered_s(at: AppTest) -> float:
    return float(table(at)["length (s)"].sum())


def test_tuning_resegments_from_the_cache_and_resets(home):
    at = start()
    default, before = at.slider(key="t_on").value, covered_s(at)
    at.slider(key="t_on").set_value(0.05).run()
    low = covered_s(at)
    at.slider(key="t_on").set_value(0.95).run()
    assert covered_s(at) < low, "a higher threshold finds less laughter"
    click(at, "Reset to model defaults")
    assert at.slider(key="t_on").value == default and covered_s(at) == before


def test_a_rerun_at_a_new_tuning_resegments_the_library_once_not_on_every_rerun(home, monkeypatch):
    from laughvid.review import library

    at = start()
    calls = []
    compute = library.compute_segments
    monkeypatch.setattr(library, "compute_segments", lambda *a: calls.append(a[1:]) or compute(*a))
    at.slider(key="t_on").set_value(0.93).run()  # saved segments exist only for the model's tuning
    assert len(calls) == 1 and len(at.dataframe[-1].value) == 1, "the library table, at the page's tuning"
    at.run()
    at.run()
    assert len(calls) == 1, "kept across reruns (was recomputed for every video on every rerun)"
    assert len(json.loads(at.get("bidi_component")[0].proto.json)["segments"]) == len(table(at))
    assert len(at.get("bidi_component")[0].proto.json) < 5_000, "a rerun sends the player segments and a URL, not the curves"


def test_uploads_analyse_each_file_and_report_failures(home, tmp_path):
    at = start()
    good = astronaut_video(tmp_path / "party night.mp4", seconds=2.0)
    bad = not_a_video(tmp_path / "broken.mp4")
    uploader = at.file_uploader[0]
    uploader.upload("party night.mp4", good.read_bytes(), "video/mp4").upload("broken.mp4", bad.read_bytes(), "video/mp4").run()
    click(at, "Analyse")
    (refusal,) = [e.value for e in at.error if "broken.mp4" in e.value]  # in the message bar, once
    assert "not a readable video" in refusal and "Upload a video" in refusal
    assert "Errno" not in refusal and str(home) not in refusal and "/" not in refusal, "no server path, no errno"
    assert any("party night.mp4" in s.value and "analysed" in s.value for s in at.success)
    assert at.subheader[0].value == "party_night.mp4"  # the new video is opened
    assert not at.file_uploader[0].value, "the analysed files leave the upload box"
    assert sorted(p.name for p in (home / "uploads").iterdir()) == ["broken.mp4", "party_night.mp4"]

    (home / "uploads" / "party_night.mp4").unlink()  # moved away after analysis
    at.run()
    assert not at.exception and any("no longer there" in e.value for e in at.error)
    assert "no longer there" in player_data(at)["video"]["problem"]  # the player says so; its timeline and review still work


def test_a_text_file_upload_is_refused_with_a_message_naming_it_and_the_formats(home):
    at = start()
    at.file_uploader[0].upload("meeting notes.txt", b"not a video", "text/plain").run()
    click(at, "Analyse")
    (refusal,) = [e.value for e in at.error if "meeting notes.txt" in e.value]
    assert "not a video file type" in refusal and "mp4" in refusal and "mov" in refusal
    assert "Errno" not in refusal and str(home) not in refusal
    assert not (home / "uploads").exists() or not any((home / "uploads").iterdir()), "nothing kept"


def test_export_buttons_write_files_and_blur_unconsented_faces(home):
    at = start()
    at.text_input(key="reviewer").input("ana").run()
    finish_export(click(at, "Export clips"))
    assert any("no accepted or added segments" in e.value for e in at.error)
    edit(home, "accept", 0)
    at.run()  # the page shows the accepted segment (as after the player's own edit)
    at.button(key="preview_finetune").click().run()
    assert any(c.value.startswith("smile: ") for c in at.caption), "a contact sheet of the smile crops"
    assert not (home / "finetune_set").exists(), "a preview writes nothing"
    edit(home, "accept", 1)
    at.number_input(key="top_laughs").set_value(1).run()
    at.checkbox(key="blur").check().run()
    finish_export(click(at, "Export clips"))
    assert any("blurred the faces of" in t.value for t in at.toast), "no one in the sample registered clips consent"
    assert any(t.value == "the 1 biggest laugh(s) by peak intensity, clip01 the biggest" for t in at.toast)
    (clip,) = (home / "exports").glob("*/clips/*.mp4")  # of two accepted laughs, the one with the higher peak intensity
    accepted = [s for s in player_data(at)["segments"] if s["state"] == "accepted"]
    biggest = max(accepted, key=lambda s: s["intensity"])
    assert len(accepted) == 2 and f"_clip01_{max(0.0, biggest['start'] - 2.0):.2f}-" in clip.name
    click(at, "Export lists")
    (folder,) = (home / "exports").iterdir()
    assert sorted(p.suffix for p in folder.glob("*_segments.*")) == [".csv", ".edl", ".json", ".srt"]
    conn = open_store(home / "laughvid.sqlite")
    assert [s.state for s in review.stored(conn, at.session_state["video"])] == ["accepted", "accepted"]


def test_opening_another_video_cancels_the_export_even_when_that_video_fails_to_open(home, tmp_path, monkeypatch):
    """The export of the video left behind is cancelled where the sidebar picks the new one, not by the
    export panel, which a page stopped by the new video's error never draws."""

    def export_until_cancelled(conn, settings, kind, *args, progress, cancel):
        cancel.wait(TIMEOUT)
        return actions.Exported([], ["cancelled"], cancelled=cancel.is_set())

    at = start()
    monkeypatch.setattr(actions, "export_video", export_until_cancelled)
    job = click(at, "Export clips").session_state["export_job"]
    other = analysed(home, astronaut_video(tmp_path / "second take.mp4", seconds=2.0)).record
    at.run()
    assert job.running, "the same video stays open: its export runs on"

    def open_video(conn, record, *args, real=actions.open_video):
        if record.sha256 == other.sha256:
            raise StoreError("this analysis cannot be read")
        return real(conn, record, *args)

    monkeypatch.setattr(actions, "open_video", open_video)
    at.selectbox(key="video").set_value(other.sha256).run()
    assert "this analysis cannot be read" in [e.value for e in at.error]
    assert job.cancel.is_set()
    job.thread.join(TIMEOUT)
    assert job.outcome.cancelled


def test_unsure_moments_are_suggested_and_clicking_one_seeks_there(home):
    at = start()
    at.button(key="suggest").click().run()
    suggestions = [b for b in at.button if (b.key or "").startswith("suggestion_")]
    assert suggestions, "the model is unsure somewhere in the sample (straight faces, covered face)"
    suggestions[0].click().run()
    assert player_data(at)["command"]["seek"] == pytest.approx(float(suggestions[0].label.split(" s,")[0]), abs=0.05)


def test_the_library_counts_every_video_and_its_queue_opens_a_video_at_the_moment(home, tmp_path):
    at = start()  # the sample is on screen
    other = analysed(home, astronaut_video(tmp_path / "second take.mp4", seconds=2.0))
    at.run()
    library = at.dataframe[1].value
    assert sorted(library["video"]) == sorted(["two_people_astronaut.mp4", other.record.name])
    sample = library[library["video"] == "two_people_astronaut.mp4"].iloc[0]
    assert sample["pending"] == (table(at)["state"] == "pending").sum(), "the library counts what the review table shows"
    at.button(key="queue_all").click().run()
    moments = [b for b in at.button if (b.key or "").startswith("queue_") and b.key != "queue_all"]
    assert moments, "the model is unsure somewhere in the library"
    at.radio(key="queue_order").set_value("intensity").run()
    at.button(key="queue_all").click().run()
    biggest = [b.label for b in at.button if (b.key or "").startswith("queue_") and b.key != "queue_all"]
    conn = open_store(home / "laughvid.sqlite")
    expected = actions.unsure_moments(conn, None, actions.Tuning.default().smoothing(), 10, "intensity")
    assert [label.split(":")[0] for label in biggest] == [f"{m.video_name} at {m.time_s:.1f} s, {m.person}" for m in expected]
    assert biggest != [b.label for b in moments], "biggest laugh first is another order than most useful first"
    current = [b for b in at.button if (b.key or "").startswith("queue_") and b.key != "queue_all"]
    pick = next((b for b in current if b.label.startswith("second")), current[0])
    pick.click().run()
    opened = other.record.sha256 if pick.label.startswith("second") else at.session_state["video"]
    assert at.session_state["video"] == opened and player_data(at)["video"]["sha"] == opened
    assert player_data(at)["command"]["seek"] == pytest.approx(float(pick.label.split(" at ")[1].split(" s,")[0]), abs=0.05)


def copy_of_shipped_model(folder, version: str):
    """A second registered model version: the shipped model under another name (same weights)."""
    shutil.copytree(SHIPPED_MODEL_DIR, folder, ignore=shutil.ignore_patterns("weights.pt"))
    card = json.loads((folder / "model_card.json").read_text())
    card.update(version=version, parent_version=card["version"])
    (folder / "model_card.json").write_text(json.dumps(card))
    return folder


def shipped_is_non_commercial(conn, version: str) -> bool:
    return ModelCard.load(registry.get(conn, version).path).non_commercial


def test_model_selector_lists_versions_and_activates_and_rolls_back(home, tmp_path):
    at = start()
    conn = open_store(home / "laughvid.sqlite")
    shipped = registry.active_version(conn)
    assert shipped and at.selectbox(key="model_pick").options == [f"{shipped} (active)"], "an empty registry adopts the shipped model"
    assert any("NON-COMMERCIAL" in e.value for e in at.sidebar.error) == shipped_is_non_commercial(conn, shipped)

    registry.ensure_registered(conn, copy_of_shipped_model(tmp_path / "tuned", "smile-test-tuned"))
    at.run()
    assert sorted(at.selectbox(key="model_pick").options) == sorted([f"{shipped} (active)", "smile-test-tuned"])
    at.selectbox(key="model_pick").set_value("smile-test-tuned").run()
    click(at, "Activate")
    assert registry.active_version(conn) == "smile-test-tuned"
    assert any("active model: smile-test-tuned" in c.value for c in at.sidebar.caption), "new analyses load the activated model"
    click(at, "Roll back")
    assert registry.active_version(conn) == shipped
    assert at.button(key="model_rollback").disabled is False  # rolling back again would return to the tuned model


def open_people_panel(at: AppTest) -> AppTest:
    """Expand "People in this video" (its content runs only while it is open)."""
    at.session_state["people_panel"] = True
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def register(at: AppTest, pid: str, name: str, scopes: list[str], given: date | None = None, expires: date | None = None) -> AppTest:
    at.text_input(key="new_pid").input(pid)
    at.text_input(key="new_name").input(name)
    at.multiselect(key="new_scopes").set_value(scopes)
    at.date_input(key="new_consented").set_value(given or date.today())
    at.date_input(key="new_expires").set_value(expires)
    return click(at, "Register")


def press(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def blurred_in_export(at: AppTest) -> set[int]:
    """The raw track ids the clip export blurred, as its message names them."""
    finish_export(click(at, "Export clips"))
    (message,) = [t.value for t in at.toast if t.value.startswith("blurred the faces of")]
    return set(map(int, re.fullmatch(r"blurred the faces of raw track\(s\) ([\d, ]+) \(no clips consent\)", message)[1].split(", ")))


def test_people_panel_registers_links_and_unlinks_and_clip_blurring_follows(home):
    at = open_people_panel(start())
    conn = open_store(home / "laughvid.sqlite")
    person0 = find_person(conn, at.session_state["video"], 0)
    sha, tag, mine = person0.analysis.sha256, person0.analysis.id, {t.track_id for t in person0.tracks}
    faces = len(at.get("image")) - 10  # below the 10 frames of the strip
    assert faces > len(mine) and sum("not linked: blurred when blurring is on" in c.value for c in at.caption) == faces

    register(at, "p01", "Kim Minji", ["clips"])
    assert get_participant(conn, "p01") == Participant("p01", "Kim Minji", ("clips",), date.today())
    assert any("registered p01" in t.value for t in at.toast)
    form = (at.text_input(key="new_pid").value, at.text_input(key="new_name").value, at.multiselect(key="new_scopes").value)
    assert form == ("", "", []), "the form is empty for the next participant (kept the last one's id, name and consent)"
    at.selectbox(key=f"link_to_{tag}_0").set_value("p01")
    press(at, f"link_{tag}_0")
    assert track_links(conn, sha) == dict.fromkeys(mine, "p01"), "every raw track of person 0 (all ticked by default)"
    assert sum("linked to p01, who consented to clips: not blurred" in c.value for c in at.caption) == len(mine)
    legend = [line["label"] for line in player_data(at)["lanes"][0]["lines"]]
    assert legend == ["any face", "Kim Minji", "person 1"], "a linked person is shown by name (was 'person 0')"
    assert any("Kim Minji" in people for people in table(at)["people"]), "and so in the segment list"

    at.text_input(key="reviewer").input("ana").run()
    edit(home, "accept", 0)
    at.run()  # the page shows the accepted segment (as after the player's own edit)
    at.button(key="preview_finetune").click().run()
    assert any(c.value.startswith("smile: ") for c in at.caption), "a contact sheet of the smile crops"
    assert not (home / "finetune_set").exists(), "a preview writes nothing"
    at.checkbox(key="blur").check().run()
    blurred = blurred_in_export(at)
    assert blurred and not blurred & mine, "person 0's faces stay unblurred, everyone else's are blurred"

    for track in mine:
        press(at, f"unlink_{tag}_{track}")
    assert track_links(conn, sha) == {} and tracks_without_consent(conn, sha, mine) == mine
    assert sum("not linked: blurred when blurring is on" in c.value for c in at.caption) == faces
    assert mine <= blurred_in_export(at), "unlinked: blurred again"
    assert [line["label"] for line in player_data(at)["lanes"][0]["lines"]] == ["any face", "person 0", "person 1"]


def test_people_panel_refuses_mistakes_and_links_only_the_ticked_faces(home):
    at = open_people_panel(start())
    conn = open_store(home / "laughvid.sqlite")
    person0 = find_person(conn, at.session_state["video"], 0)
    sha, tag = person0.analysis.sha256, person0.analysis.id
    add_participant(conn, Participant("p01", "Kim Minji", ("clips", "finetune"), date(2026, 1, 1)))
    at.run()

    register(at, "p01", "Someone else", ["finetune"])
    assert any("participant 'p01' is already registered" in e.value for e in at.error)
    assert get_participant(conn, "p01").name == "Kim Minji", "the first registration stands"
    register(at, "p02", "Lee Jun", [])
    assert any("choose what they consented to" in e.value for e in at.error) and get_participant(conn, "p02") is None
    assert any("choose what they consented to" in t.value for t in at.toast), "a refusal shows wherever the page is scrolled"
    assert at.text_input(key="new_name").value == "Lee Jun", "a refused form keeps what was typed"
    register(at, "p02", "Lee Jun", ["clips"], given=date(2019, 1, 1), expires=date(2020, 1, 1))
    assert any("consent of p02 expired on 2020-01-01" in e.value for e in at.error), "nobody could be linked to it"
    assert get_participant(conn, "p02") is None, "the id stays free for the right dates"

    press(at, f"link_{tag}_0")
    assert any("choose the participant person 0 shows" in e.value for e in at.error) and track_links(conn, sha) == {}

    first, *others = [t.track_id for t in person0.tracks]
    assert others, "person 0 of the sample is stitched from several raw tracks"
    for track in (first, *others):
        at.checkbox(key=f"tick_{tag}_{track}").uncheck()
    at.selectbox(key=f"link_to_{tag}_0").set_value("p01")
    press(at, f"link_{tag}_0")
    assert any("choose at least one raw track of person 0" in e.value for e in at.error) and track_links(conn, sha) == {}

    at.checkbox(key=f"tick_{tag}_{first}").check()
    press(at, f"link_{tag}_0")
    assert track_links(conn, sha) == {first: "p01"}, "an unticked face (someone else) is not linked"


def test_markdown_in_a_file_name_shows_as_written(home, tmp_path):
    """A video named like Markdown: the page header gets the escaped name (bold and link markup shown as text)."""
    from laughvid.ui.text import literal

    name = "**bold** [x](www.e.com).mp4"
    analysed(home, astronaut_video(tmp_path / name, seconds=1.0))
    at = start()
    assert at.subheader[0].value == literal(name) and at.subheader[0].value.startswith(r"\*\*bold\*\* \[x\]")


def analysed(home, video, **params):
    """`video` analysed by the shipped model into the app's store (so the app opens it, no upload)."""
    from laughvid.pipeline.analyze import AnalysisParams, analyze_video
    from laughvid.pipeline.scoring import SmileClassifier

    return analyze_video(video, open_store(home / "laughvid.sqlite"), SmileClassifier.load(SHIPPED_MODEL_DIR), AnalysisParams(**params))


def test_an_analysis_without_face_geometry_shows_a_note_instead_of_the_intensity_lane(home, tmp_path):
    from laughvid.ui.timeline_payload import NO_INTENSITY

    result = analysed(home, astronaut_video(tmp_path / "before geometry.mp4", seconds=2.0), geometry="")
    at = start()
    data = player_data(at)
    assert data["video"]["sha"] == result.record.sha256 and len(table(at)) == len(data["segments"]) >= 1
    assert [lane["title"] for lane in data["lanes"]] == ["laugh probability"] and data["notes"] == [NO_INTENSITY]
    assert table(at)["intensity"].isna().all() and [s["intensity"] for s in data["segments"]] == [None] * len(data["segments"])


def test_a_store_recreated_at_the_same_path_shows_its_own_analysis(home, tmp_path, monkeypatch):
    """Same store path, video and analysis id (1) as before, another analysis: the server's caches and
    the curves' URL (which the browser keeps for good) must not hand back the old one's. Both start in
    the same second (start times are kept to the second; short analyses on a quick machine do)."""
    monkeypatch.setattr("laughvid.store.score_cache.now_iso", lambda: "2026-11-28T10:00:00+00:00")
    video = astronaut_video(tmp_path / "take.mp4", seconds=2.0)
    analysed(home, video, geometry="")
    before = player_data(start())
    for f in home.glob("laughvid.sqlite*"):
        f.unlink()
    assert analysed(home, video).record.id == 1
    after = player_data(start())
    assert after["series"] != before["series"]
    assert len(before["lanes"]) == 1 and len(after["lanes"]) == 2, "the new analysis has face geometry: an intensity lane"


def open_last_segment(end_s: float) -> AppTest:
    """The page opens with a laugh running to the last frame; the player gets the video's end as its end."""
    at = start()
    data = player_data(at)
    assert data["segments"][-1]["end"] == pytest.approx(end_s, abs=0.05) and data["video"]["duration"] == pytest.approx(end_s)
    assert {"export_clips"} <= {b.key for b in at.button}
    return at


@pytest.mark.parametrize("saved_by_older_version", [False, True])
def test_a_laugh_running_to_the_last_frame_keeps_every_review_control(home, tmp_path, saved_by_older_version):
    """56 frames at 30 fps end at 1.87 s, but the last analysed frame (1.8 s) stands for a 0.1 s step:
    the segment ended at 1.9 s, past the video, and the review section crashed. A row an older version
    saved with that end must not crash it either; its start is then edited from the player."""
    from laughvid.types import ReviewedSegment, Segment

    result = analysed(home, astronaut_video(tmp_path / "smile to the end.mp4", seconds=1.85))
    conn, sha, duration = open_store(home / "laughvid.sqlite"), result.record.sha256, result.record.info.duration_s
    if saved_by_older_version:
        review.accept(conn, sha, ReviewedSegment(Segment(0.0, 1.9, 0.9, 0.9, (0,))), "old")
    at = open_last_segment(duration)
    edit(home, "bounds", -1, start=0.5, end=duration)
    (edited,) = review.stored(conn, sha)
    assert (edited.start_s, edited.end_s, edited.state) == (0.5, pytest.approx(duration), "accepted")
    assert player_data(at.run())["segments"][-1]["start"] == 0.5


@pytest.mark.data
@pytest.mark.parametrize("name", ["d19.mp4", "selfie_group_smile.mp4"])
def test_the_last_segment_of_the_dev_clips_that_crashed_opens(home, dev_videos, name):
    """The two dev clips of issue 10 whose last laugh runs to the last frame."""
    result = analysed(home, dev_videos / name)
    assert result.segments[-1].end_s == pytest.approx(result.record.info.duration_s), "the laugh runs to the end"
    open_last_segment(result.record.info.duration_s)


def test_times_and_scores_show_a_fixed_number_of_decimals(home):
    """The tables' number columns are sent with a format: the grid drops trailing zeros, so one column read
    "0", "3.3", "8" (the library's lengths "8" beside "2.5")."""
    at = start()
    segments, library = (json.loads(frame.proto.columns) for frame in at.dataframe[:2])
    assert {name: segments[name]["type_config"]["format"] for name in ("start (s)", "end (s)", "length (s)", "peak", "intensity")} == {
        name: "%.2f" for name in ("start (s)", "end (s)", "length (s)", "peak", "intensity")
    }
    assert library["length (s)"]["type_config"]["format"] == "%.1f"
