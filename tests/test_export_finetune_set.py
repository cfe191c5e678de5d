"""Reviewed segments -> fine-tune crops: labels from the review, manifest rows, loadable by training."""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import date
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from loop_helpers import loop_db

from laughvid.export.crops import (
    MANIFEST_COLUMNS,
    FinetuneExportError,
    VideoSource,
    export_finetune_set,
    plan_crops,
    preview_crops,
    read_manifest,
    write_manifest,
)
from laughvid.governance.consent import Participant, add_participant, delete_person, export_person, link_tracks, withdraw
from laughvid.lifecycle import registry
from laughvid.lifecycle.set_versions import freeze_validation, load_collected, prepare
from laughvid.pipeline.faces.crop import Framing
from laughvid.types import ReviewedSegment, ScoreCache, Segment
from tests.media import astronaut_video, face_box_in_frame

SECONDS, FPS, SIZE, FACE = 4.0, 10, (320, 240), 80
SHA = "f" * 64


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return astronaut_video(tmp_path_factory.mktemp("v") / "face.mp4", seconds=SECONDS, size=SIZE, fps=FPS, face_px=FACE)


@pytest.fixture(scope="module")
def cache(video) -> ScoreCache:
    """What an analysis would have stored: every frame analysed, one track, true face boxes."""
    with av.open(str(video)) as container:
        times = np.array([f.time for f in container.decode(video=0)])
    boxes = np.array([face_box_in_frame(t, SECONDS, SIZE, FACE) for t in times])
    n = len(times)
    return ScoreCache(times, times.copy(), np.ones(n, np.int64), boxes, np.ones(n), np.full(n, 0.9), np.arange(n) % 2 == 0)


def item(a, b, state, tracks=(1,)):
    return ReviewedSegment(Segment(a, b, 0.9, 0.8, tracks), state, "auto", "ana", "2026-11-25T10:00:00+00:00", 1)


SOURCE_ARGS = dict(sha256=SHA, rotation=0, model_version="smile-v1-test", default_consent_ref="public:sample")


def test_labels_follow_the_review(cache):
    items = [item(0.0, 1.0, "accepted"), item(1.5, 2.0, "rejected"), item(2.5, 3.0, "pending")]
    plan = plan_crops(items, cache, every_s=0.5)
    assert [(p.time_s, p.label) for p in plan] == [(0.0, "smile"), (0.6, "smile"), (1.6, "non_smile")]  # detected frames only
    assert all(p.reviewer == "ana" for p in plan)
    # Once the whole video is reviewed, time away from every segment (0.5 s margin) is non-smile too.
    done = plan_crops(items, cache, completed_by=("ben", "2026-11-25T11:00:00+00:00"), background_every_s=1.0)
    background = [p for p in done if p.reviewer == "ben"]
    assert [p.time_s for p in background] == [3.6] and {p.label for p in background} == {"non_smile"}


def test_export_writes_crops_and_manifest_and_replaces_on_reexport(video, cache, tmp_path):
    source = VideoSource(path=str(video), **SOURCE_ARGS)
    plan = plan_crops([item(0.0, 1.0, "accepted"), item(2.0, 3.0, "rejected")], cache, every_s=0.5)
    result = export_finetune_set(tmp_path / "set", source, plan, Framing())
    assert result.counts() == {"smile": 2, "non_smile": 2}
    rows = read_manifest(tmp_path / "set")
    assert list(rows[0]) == list(MANIFEST_COLUMNS)
    assert {r["video_sha256"] for r in rows} == {SHA} and {r["consent_ref"] for r in rows} == {"public:sample"}
    assert {r["group"] for r in rows} == {f"video-{SHA[:12]}"} and rows[0]["model_version"] == "smile-v1-test"
    crop = cv2.imread(str(tmp_path / "set" / rows[0]["path"]))
    assert crop.shape == (96, 96, 3)
    assert crop.std() > 20  # a face, not the flat grey background

    # The reviewer undoes the rejection: re-export drops those crops, keeps other videos' rows.
    other = dict(rows[0], path="smile/other.png", video_sha256="0" * 64)
    cv2.imwrite(str(tmp_path / "set" / "smile" / "other.png"), crop)
    write_manifest(tmp_path / "set", rows + [other])
    again = export_finetune_set(tmp_path / "set", source, plan[:2], Framing())
    assert again.removed == 2
    after = read_manifest(tmp_path / "set")
    assert sorted(r["label"] for r in after) == ["smile", "smile", "smile"]
    assert len(list((tmp_path / "set" / "non_smile").glob("*.png"))) == 0


def test_the_preview_shows_the_crops_as_they_would_be_written_and_writes_nothing(video, cache, tmp_path):
    source = VideoSource(path=str(video), **SOURCE_ARGS)
    plan = plan_crops([item(0.0, 1.0, "accepted"), item(2.0, 3.0, "rejected")], cache, every_s=0.5)
    shown = preview_crops(source, plan, Framing(), per_label=1)
    assert sorted(c.label for c, _ in shown) == ["non_smile", "smile"] and not (tmp_path / "set").exists()
    written = export_finetune_set(tmp_path / "set", source, plan, Framing())
    first_smile = next(c for c, _ in shown if c.label == "smile")
    row = next(r for r in written.rows if r["label"] == "smile" and float(r["time_s"]) == pytest.approx(first_smile.time_s))
    image = next(i for c, i in shown if c.label == "smile")
    saved = cv2.cvtColor(cv2.imread(str(tmp_path / "set" / row["path"])), cv2.COLOR_BGR2RGB)
    assert np.array_equal(saved, image)


def test_nothing_reviewed_is_a_clear_error(video, cache, tmp_path):
    with pytest.raises(FinetuneExportError, match="accept, add or reject"):
        export_finetune_set(tmp_path / "set", VideoSource(path=str(video), **SOURCE_ARGS), [], Framing())


def test_set_loads_with_the_training_loader(video, cache, tmp_path):
    data = pytest.importorskip("laughvid.training.data")
    source = VideoSource(path=str(video), **SOURCE_ARGS)
    plan = plan_crops([item(0.0, 1.0, "accepted"), item(2.0, 3.0, "rejected")], cache)
    export_finetune_set(tmp_path / "set", source, plan, Framing())
    items = data.load_smile_folders(tmp_path / "set")
    assert sorted(i.smile for i in items) == [0, 0, 1, 1]
    assert {i.group for i in items} == {f"video-{SHA[:12]}"}  # one video never straddles train/validation


def test_frames_are_found_across_long_keyframe_gaps(tmp_path):
    """x264's default GOP is 250 frames (8.3 s at 30 fps): seeking to 11 s lands near 8.3 s, far
    before the target; the reader must decode forward to it instead of seeking again."""
    from laughvid.export.crops import frames_at
    from tests.media import synthetic_video

    video = synthetic_video(tmp_path / "long_gop.mp4", seconds=12.0, size=(160, 120), fps=30)
    with av.open(str(video)) as container:
        times = [f.time for f in container.decode(video=0)]
    wanted = [times[15], times[330], times[345]]
    found = [t for t, frame in frames_at(video, 0, wanted)]
    assert found == wanted


def test_consent_ref_follows_the_raw_track_not_the_person(video, cache, tmp_path):
    """Person 1 stitched from raw tracks 1 and 2: only crops of raw track 2, the one linked to p01, are p01's."""
    person = dataclasses.replace(cache, raw_track_ids=np.where(cache.times_s >= 2.0, 2, 1))
    conn = loop_db(finetune_consent=["p01"])
    link_tracks(conn, SHA, [2], "p01")
    plan = plan_crops([item(0.0, SECONDS, "accepted")], person, every_s=1.0)
    rows = export_finetune_set(tmp_path / "set", VideoSource(path=str(video), **SOURCE_ARGS), plan, Framing(), conn).rows
    assert [(r["time_s"], r["track_id"], r["consent_ref"]) for r in rows] == [
        ("0.000", "1", "public:sample"),
        ("1.000", "1", "public:sample"),
        ("2.000", "1", "p01"),
        ("3.000", "1", "p01"),
    ]


def test_crops_without_a_consent_reference_are_named_before_fine_tuning_refuses_them(video, cache, tmp_path):
    """The message after adding crops says how many fine-tuning will refuse for want of consent (it
    said nothing, and `laughvid finetune` refused them later); linked or referenced crops need no word."""
    person = dataclasses.replace(cache, raw_track_ids=np.where(cache.times_s >= 2.0, 2, 1))
    conn = loop_db(finetune_consent=["p01"])
    link_tracks(conn, SHA, [2], "p01")
    plan = plan_crops([item(0.0, SECONDS, "accepted")], person, every_s=1.0)
    unreferenced = VideoSource(path=str(video), **{**SOURCE_ARGS, "default_consent_ref": ""})
    summary = export_finetune_set(tmp_path / "set", unreferenced, plan, Framing(), conn).summary()
    assert summary.startswith(
        f"fine-tune set {tmp_path / 'set'}: 4 smile and 0 non_smile crops from this video; 2 without a consent reference"
    )
    referenced = export_finetune_set(tmp_path / "set", VideoSource(path=str(video), **SOURCE_ARGS), plan, Framing(), conn)
    assert referenced.summary().endswith("4 smile and 0 non_smile crops from this video")


OTHER_SHA = "e" * 64


def _two_videos_then_link(video, cache, tmp_path):
    """Crops of person 1 (raw track 1 until 2 s, raw track 2 after) of SHA and of another video, cut
    under `public:sample`; only afterwards is raw track 2 of SHA linked to p01."""
    person = dataclasses.replace(cache, raw_track_ids=np.where(cache.times_s >= 2.0, 2, 1))
    conn = loop_db(finetune_consent=["p01"])
    plan = plan_crops([item(0.0, SECONDS, "accepted")], person, every_s=1.0)
    for sha in (SHA, OTHER_SHA):
        export_finetune_set(tmp_path / "set", VideoSource(path=str(video), **{**SOURCE_ARGS, "sha256": sha}), plan, Framing(), conn)
    link_tracks(conn, SHA, [2], "p01")
    return conn


def _kept(root):
    rows = read_manifest(root)
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*.png")) == sorted(r["path"] for r in rows)  # files = rows
    return sorted((r["video_sha256"][:1], r["time_s"]) for r in rows)


def test_deleting_a_person_removes_the_crops_cut_before_their_face_was_linked(video, cache, tmp_path):
    """The crops of raw track 2 said `public:sample` (cut before the link) and survived `consent delete`;
    the manifest now records raw tracks and deletion and fine-tuning look the links up when they run."""
    conn = _two_videos_then_link(video, cache, tmp_path)
    assert {r["raw_track_id"] for r in read_manifest(tmp_path / "set")} == {"1", "2"}
    withdraw(conn, "p01", on=date(2026, 6, 1))
    prepared = prepare(tmp_path / "set", conn, on=date(2026, 6, 2))
    assert sorted(Path(c.item.path).name[:1] for c, _ in prepared.refused) == ["f", "f"]  # p01's, withdrawn: no longer trained on
    assert {reason for _, reason in prepared.refused} == {"participant p01 withdrew consent on 2026-06-01"}

    copy = json.loads(export_person(conn, "p01", [tmp_path / "set"], tmp_path / "copy").read_text())
    assert sorted(r["time_s"] for r in copy["fine_tune_items"]) == ["2.000", "3.000"]
    # models that trained on the set before the link recorded no p01, yet may hold their face; one made
    # before the crops' review time too: a review edit renews it, so an earlier export may have trained it
    trained = {"before the review": "2026-11-25T09:00:00+00:00", "after": "2026-11-26T09:00:00+00:00"}
    for name, when in trained.items():
        registry.register(
            conn, registry.ModelRecord(name, f"/m/{name}", created_at=when, data_versions=[f"ft-1@{(tmp_path / 'set').resolve()}"])
        )
    registry.register(conn, registry.ModelRecord("other set", "/m/o", created_at=trained["after"], data_versions=["ft-2@/elsewhere"]))
    report = delete_person(conn, "p01", [tmp_path / "set"])
    assert len(report.crops_deleted) == report.manifest_rows_deleted == 2 and not report.crops_untraced
    assert report.models_flagged == ["after", "before the review"]
    assert registry.get(conn, "before the review").needs_retraining == "data of p01 deleted"
    # raw track 1 of the same video and the other video's crops (a track of the same id, not linked) stay
    assert _kept(tmp_path / "set") == [("e", "0.000"), ("e", "1.000"), ("e", "2.000"), ("e", "3.000"), ("f", "0.000"), ("f", "1.000")]


def test_crops_of_a_manifest_without_raw_tracks_are_deleted_as_untraced_and_named(video, cache, tmp_path):
    """A manifest written before raw tracks were recorded cannot say which face a crop shows: every crop of
    a video the person is linked in goes and is named as such; other videos' crops stay."""
    conn = _two_videos_then_link(video, cache, tmp_path)
    old_columns = [c for c in MANIFEST_COLUMNS if c != "raw_track_id"]
    write_manifest(tmp_path / "set", read_manifest(tmp_path / "set"), fields=old_columns)

    copy = json.loads(export_person(conn, "p01", [tmp_path / "set"], tmp_path / "copy").read_text())
    assert copy["fine_tune_items"] == [] and len(copy["fine_tune_items_untraced"]["paths"]) == 4  # named, not copied
    report = delete_person(conn, "p01", [tmp_path / "set"])
    assert len(report.crops_untraced) == len(report.crops_deleted) == 4
    assert {Path(c).name[:1] for c in report.crops_untraced} == {"f"}
    assert _kept(tmp_path / "set") == [("e", "0.000"), ("e", "1.000"), ("e", "2.000"), ("e", "3.000")]
    assert list(read_manifest(tmp_path / "set")[0]) == old_columns  # the set keeps its columns


def test_a_deletion_killed_midway_and_run_again_still_flags_the_models_of_crops_cut_before_the_link(video, cache, tmp_path, monkeypatch):
    """Models were flagged last: killed after the manifest lost the crops' rows, the rerun found nothing
    naming the models fine-tuned on them, which stayed unflagged."""
    conn = _two_videos_then_link(video, cache, tmp_path)
    set_version = f"ft-1@{(tmp_path / 'set').resolve()}"
    registry.register(conn, registry.ModelRecord("m", "/m/m", created_at="2026-11-26T09:00:00+00:00", data_versions=[set_version]))

    def killed(*args, **kwargs):
        write_manifest(*args, **kwargs)
        raise KeyboardInterrupt  # the process dies right after the manifest is rewritten

    monkeypatch.setattr("laughvid.governance.consent.write_manifest", killed)
    with pytest.raises(KeyboardInterrupt):
        delete_person(conn, "p01", [tmp_path / "set"])
    monkeypatch.undo()
    delete_person(conn, "p01", [tmp_path / "set"])
    assert registry.get(conn, "m").needs_retraining == "data of p01 deleted"
    assert _kept(tmp_path / "set") == [("e", "0.000"), ("e", "1.000"), ("e", "2.000"), ("e", "3.000"), ("f", "0.000"), ("f", "1.000")]


def test_an_export_killed_while_moving_crops_in_leaves_no_crop_without_a_manifest_row(video, cache, tmp_path, monkeypatch):
    """Crops were moved into the set before the manifest named them: killed in between, they had no row,
    were trained on under the default reference and `consent delete` of the person linked later missed them."""
    conn = loop_db(finetune_consent=["p01"])
    plan = plan_crops([item(0.0, SECONDS, "accepted")], cache, every_s=1.0)
    moved, replace = [], os.replace

    def killed(src, dst):
        if ".tmp-crops-" not in str(src) or ".tmp-crops-" in str(dst):  # not a crop moving into the set
            return replace(src, dst)
        if moved:
            raise KeyboardInterrupt  # the process dies after the first crop is in place
        moved.append(dst)
        replace(src, dst)

    monkeypatch.setattr("laughvid.export.crops.os.replace", killed)
    with pytest.raises(KeyboardInterrupt):
        export_finetune_set(tmp_path / "set", VideoSource(path=str(video), **SOURCE_ARGS), plan, Framing(), conn)
    monkeypatch.undo()
    assert len(moved) == 1 and (tmp_path / "set" / "smile" / moved[0].name).is_file()
    assert {str(p.relative_to(tmp_path / "set")) for p in (tmp_path / "set").rglob("*.png")} <= {
        r["path"] for r in read_manifest(tmp_path / "set")
    }
    left = tmp_path / "set" / ".tmp-crops-killed" / "smile"  # a SIGKILL skips the cleanup: staged crops stay
    left.mkdir(parents=True)
    (left / "face.png").write_bytes(b"png")
    link_tracks(conn, SHA, [1], "p01")
    report = delete_person(conn, "p01", [tmp_path / "set"])
    assert not list((tmp_path / "set").rglob("*.png")) and not read_manifest(tmp_path / "set")
    assert report.staging_deleted == [str(tmp_path / "set" / ".tmp-crops-killed")]


def test_a_track_linked_to_someone_else_since_its_crops_were_cut_is_theirs_for_export_and_delete(video, cache, tmp_path):
    """Raw track 2 was linked to p01 when cut, then the link was corrected to p02: `consent export p01`
    handed p01 copies of p02's face and `consent delete p01` deleted them; fine-tuning already took them as p02's."""
    person = dataclasses.replace(cache, raw_track_ids=np.where(cache.times_s >= 2.0, 2, 1))
    conn = loop_db(finetune_consent=["p01", "p02"])
    link_tracks(conn, SHA, [1, 2], "p01")
    plan = plan_crops([item(0.0, SECONDS, "accepted")], person, every_s=1.0)
    export_finetune_set(tmp_path / "set", VideoSource(path=str(video), **SOURCE_ARGS), plan, Framing(), conn)
    assert {r["consent_ref"] for r in read_manifest(tmp_path / "set")} == {"p01"}
    link_tracks(conn, SHA, [2], "p02")  # a wrong link corrected
    copy = json.loads(export_person(conn, "p01", [tmp_path / "set"], tmp_path / "copy").read_text())
    assert sorted(r["time_s"] for r in copy["fine_tune_items"]) == ["0.000", "1.000"]
    assert len(list((tmp_path / "copy").rglob("*.png"))) == 2
    assert len(delete_person(conn, "p01", [tmp_path / "set"]).crops_deleted) == 2
    assert _kept(tmp_path / "set") == [("f", "2.000"), ("f", "3.000")]
    assert len(delete_person(conn, "p02", [tmp_path / "set"]).crops_deleted) == 2 and _kept(tmp_path / "set") == []


def _one_person_across_linking(video, cache, tmp_path, freeze_first: list[str] | None = None):
    """Raw track 2 of videos `a` and `b` shows p01, `c` someone unlinked. `a` and `c` are cut before
    any link (manifest group `video-<hash>`), `b` after (group `p01`). With `freeze_first`, the set's
    validation split is frozen on those groups before linking. Each video's boxes are shifted a little,
    so no two crops are byte-identical."""
    conn = loop_db(finetune_consent=["p01"])
    root = tmp_path / "set"

    def cut(sha: str, shift: float) -> None:
        person = dataclasses.replace(cache, raw_track_ids=np.full(len(cache.times_s), 2), boxes=cache.boxes + shift)
        plan = plan_crops([item(0.0, SECONDS, "accepted")], person, every_s=1.0)
        export_finetune_set(root, VideoSource(path=str(video), **{**SOURCE_ARGS, "sha256": sha * 64}), plan, Framing(), conn)

    cut("a", 0.0)
    cut("c", 4.0)
    if freeze_first is not None:
        freeze_validation(root, load_collected(root, conn=conn), groups=freeze_first)
    link_tracks(conn, "a" * 64, [2], "p01")
    link_tracks(conn, "b" * 64, [2], "p01")
    cut("b", 2.0)
    assert {r["group"] for r in read_manifest(root)} == {"video-aaaaaaaaaaaa", "video-cccccccccccc", "p01"}
    return conn, root


def _videos(crops):
    return sorted(Path(c.item.path).name[:1] for c in crops)


def test_a_person_linked_between_exports_is_one_group_on_one_side_of_the_split(video, cache, tmp_path):
    """Crops cut before the link kept group `video-<hash>`: the person was two groups, so holding out
    `p01` left their earlier crops in training (leakage) and the gate counted one person as two groups."""
    conn, root = _one_person_across_linking(video, cache, tmp_path)
    freeze_validation(root, load_collected(root, conn=conn), groups=["p01"])
    prepared = prepare(root, conn)
    assert _videos(prepared.validation) == ["a"] * 4 + ["b"] * 4 and _videos(prepared.train) == ["c"] * 4
    assert {c.item.group for c in prepared.validation} == {"p01"}  # what GateRule.min_groups counts: one person, one group


def test_a_split_frozen_before_the_link_keeps_its_crops_and_holds_back_the_persons_later_ones(video, cache, tmp_path):
    """Frozen while p01's crops of `a` were group `video-aaa…`: those stay validated against (the split never
    moves), and p01's crops cut later (group `p01`) are held back, not trained, as the person is validation."""
    conn, root = _one_person_across_linking(video, cache, tmp_path, freeze_first=["video-aaaaaaaaaaaa"])
    prepared = prepare(root, conn)
    assert _videos(prepared.validation) == ["a"] * 4
    assert _videos(prepared.held_back) == ["b"] * 4 and _videos(prepared.train) == ["c"] * 4


def test_a_link_made_on_another_analysis_does_not_claim_crops_whose_raw_ids_it_did_not_name(video, cache, tmp_path):
    """Raw ids depend on the analysis settings: crops cut under analysis `a1` (p01 is raw track 2 there),
    then the video re-analysed as `a2` renumbering the faces and raw track 1 linked to p01. The link named
    the crops of a1's track 1 (someone else) as p01's, and p01's own crops survived their deletion. Now
    such crops are untraced: not p01's for training, and deleted and listed with p01 as possibly theirs."""
    person = dataclasses.replace(cache, raw_track_ids=np.where(cache.times_s >= 2.0, 2, 1))
    conn = loop_db(finetune_consent=["p01"])
    plan = plan_crops([item(0.0, SECONDS, "accepted")], person, every_s=1.0)
    export_finetune_set(tmp_path / "set", VideoSource(path=str(video), **SOURCE_ARGS, analysis="a1"), plan, Framing(), conn)
    assert {r["analysis"] for r in read_manifest(tmp_path / "set")} == {"a1"}
    link_tracks(conn, SHA, [1], "p01", analysis="a2")
    collected = load_collected(tmp_path / "set", conn=conn)  # what fine-tuning checks consent and splits by
    assert {(c.consent_ref, c.item.group) for c in collected} == {("public:sample", f"video-{SHA[:12]}")}
    report = delete_person(conn, "p01", [tmp_path / "set"])
    assert len(report.crops_untraced) == len(report.crops_deleted) == 4 and _kept(tmp_path / "set") == []


def test_a_link_made_on_the_crops_analysis_still_traces_them(video, cache, tmp_path):
    """The same link on the analysis the crops were cut on: only raw track 2's crops are p01's, none untraced."""
    person = dataclasses.replace(cache, raw_track_ids=np.where(cache.times_s >= 2.0, 2, 1))
    conn = loop_db(finetune_consent=["p01"])
    plan = plan_crops([item(0.0, SECONDS, "accepted")], person, every_s=1.0)
    export_finetune_set(tmp_path / "set", VideoSource(path=str(video), **SOURCE_ARGS, analysis="a1"), plan, Framing(), conn)
    link_tracks(conn, SHA, [2], "p01", analysis="a1")
    report = delete_person(conn, "p01", [tmp_path / "set"])
    assert len(report.crops_deleted) == 2 and not report.crops_untraced
    assert _kept(tmp_path / "set") == [("f", "0.000"), ("f", "1.000")]


# how p01's consent stands on 2026-06-02, and what refusing crops that may show them says (None: used)
CONSENT_STATES = {
    "active": (dict(), None),
    "withdrawn": (dict(withdrawn_on=date(2026, 6, 1)), "participant p01 withdrew consent on 2026-06-01"),
    "expired": (dict(expires_on=date(2026, 6, 1)), "consent of p01 expired on 2026-06-01"),
    "not started": (dict(consented_on=date(2026, 7, 1)), "consent of p01 starts on 2026-07-01"),
    "never granted for fine-tuning": (dict(scopes=("clips",)), "participant p01 did not consent to finetune"),
}


def _p01(state: str) -> Participant:
    return dataclasses.replace(Participant("p01", "Kim", ("finetune",), date(2026, 1, 1)), **CONSENT_STATES[state][0])


def _untraced_crops(video, cache, tmp_path, state: str):
    """Crops of SHA and of OTHER_SHA cut on analysis a1 under `public:sample`; p01 (consent `state`) linked on a2 of SHA."""
    conn = loop_db()
    add_participant(conn, _p01(state))
    plan = plan_crops([item(0.0, SECONDS, "accepted")], cache, every_s=1.0)
    for sha in (SHA, OTHER_SHA):
        source = VideoSource(path=str(video), **{**SOURCE_ARGS, "sha256": sha}, analysis="a1")
        export_finetune_set(tmp_path / "set", source, plan, Framing(), conn)
    link_tracks(conn, SHA, [1], "p01", analysis="a2")
    return conn


@pytest.mark.parametrize("state", CONSENT_STATES)
def test_crops_untraced_for_a_person_without_finetune_consent_are_not_fine_tuned_on(video, cache, tmp_path, state):
    """Crops of SHA cut on analysis a1 (and of another video), p01 linked on a2 of SHA: which face those
    crops show is not known, so they may be p01's. Only a withdrawal refused them: under an expired consent
    (or one not started, or never covering fine-tuning) they kept `public:sample` and were trained on. Now
    each is refused, counted and told how to fix. While p01 consents they are used."""
    conn = _untraced_crops(video, cache, tmp_path, state)
    prepared = prepare(tmp_path / "set", conn, on=date(2026, 6, 2))
    used = prepared.train + prepared.validation + prepared.held_back
    why = CONSENT_STATES[state][1]
    if why is None:
        assert not prepared.refused and len(used) == 8
        return
    assert sorted(Path(c.item.path).name[:1] for c, _ in prepared.refused) == ["f"] * 4
    assert {c.consent_ref for c, _ in prepared.refused} == {"public:sample"}  # their own ref still passes; p01's consent does not
    assert sorted(Path(c.item.path).name[:1] for c in used) == ["e"] * 4
    (reason,) = {r for _, r in prepared.refused}
    assert reason.startswith(f"may show p01 ({why}): cut on another analysis of a video they are linked in")
    assert "re-add them to the set from the analysis the links were made on" in reason
    assert f"left out: 4 face(s) without consent to fine-tune (may show p01 ({why})" in prepared.summary()


def test_adding_crops_says_which_fine_tuning_will_refuse_and_why(video, cache, tmp_path):
    """p01's consent expired: re-adding the video's crops from another analysis than p01's link said only how
    many crops were written, and fine-tuning trained on them; now the message names p01, the expiry and the count."""
    conn = _untraced_crops(video, cache, tmp_path, "expired")
    plan = plan_crops([item(0.0, SECONDS, "accepted")], cache, every_s=1.0)
    source = VideoSource(path=str(video), **SOURCE_ARGS, analysis="a1")
    summary = export_finetune_set(tmp_path / "set", source, plan, Framing(), conn).summary()
    assert "crops from this video; 4 that fine-tuning refuses today: may show p01 (consent of p01 expired on " in summary
    link_tracks(conn, SHA, [1], "p01", analysis="a1")  # traced now: they are p01's, whose consent expired
    summary = export_finetune_set(tmp_path / "set", source, plan, Framing(), conn).summary()
    assert summary.endswith("crops from this video; 4 that fine-tuning refuses today: consent of p01 expired on 2026-06-01")


@pytest.mark.parametrize("state", ["expired", "never granted for fine-tuning"])
def test_a_person_without_finetune_consent_has_their_untraced_crops_deleted_and_named_as_on_withdrawal(video, cache, tmp_path, state):
    """What `consent export` and `consent delete` do with crops that may show p01 does not hang on a withdrawal."""
    conn = _untraced_crops(video, cache, tmp_path, state)
    record = json.loads(export_person(conn, "p01", [tmp_path / "set"], tmp_path / "copy").read_text())
    assert len(record["fine_tune_items_untraced"]["paths"]) == 4 and record["finetune_consent_today"]["ok"] is False
    report = delete_person(conn, "p01", [tmp_path / "set"])
    assert len(report.crops_untraced) == len(report.crops_deleted) == 4
    assert sorted(Path(r["path"]).name[:1] for r in read_manifest(tmp_path / "set")) == ["e"] * 4
