"""Fine-tune set: content-hash versions, a validation split frozen by group, consent filtering."""

from __future__ import annotations

import json
from datetime import date

import cv2
import numpy as np
import pytest
from loop_helpers import loop_db, write_set

from laughvid.governance.consent import Participant, add_participant
from laughvid.lifecycle.set_versions import VALIDATION_FILE, FinetuneSetError, load_collected, prepare, set_version, write_items

PEOPLE = {f"p{i:02d}": (3, 3) for i in range(1, 7)}


@pytest.fixture
def conn():
    return loop_db(finetune_consent=list(PEOPLE))


def test_version_follows_content_not_paths(tmp_path):
    a = write_set(tmp_path / "a", PEOPLE, seed=1)
    b = write_set(tmp_path / "b", PEOPLE, seed=1)
    assert set_version(load_collected(a)) == set_version(load_collected(b))
    cv2.imwrite(str(a / "smile" / "p01_000.png"), np.zeros((96, 96, 3), np.uint8))
    assert set_version(load_collected(a)) != set_version(load_collected(b))


def test_validation_is_by_group_frozen_and_never_trained(tmp_path, conn):
    root = write_set(tmp_path / "set", PEOPLE)
    first = prepare(root, conn, on=date(2026, 6, 1))
    val_groups = {c.item.group for c in first.validation}
    train_groups = {c.item.group for c in first.train}
    assert val_groups and train_groups and not val_groups & train_groups  # by person, never by frame
    assert {c.item.smile for c in first.validation} == {0, 1}
    frozen = json.loads((root / VALIDATION_FILE).read_text())

    # The set grows: a new person, and new crops of a validation person.
    grown = write_set(tmp_path / "more", {"p07": (2, 2), sorted(val_groups)[0]: (2, 0)}, seed=9, prefix="new_")
    for png in grown.rglob("*.png"):
        target = root / png.relative_to(grown)
        target.write_bytes(png.read_bytes())
    with open(root / "manifest.csv", "a") as out, open(grown / "manifest.csv") as new:
        out.writelines(new.readlines()[1:])
    add_participant(conn, Participant("p07", "p07", ("finetune",), date(2026, 1, 1)))
    second = prepare(root, conn, on=date(2026, 6, 1))
    assert second.version != first.version
    assert json.loads((root / VALIDATION_FILE).read_text()) == frozen
    assert sorted(c.md5 for c in second.validation) == sorted(c.md5 for c in first.validation)
    assert len(second.held_back) == 2 and "p07" in {c.item.group for c in second.train}
    assert not {c.item.group for c in second.train} & val_groups
    # The summary says what is held back from training, how many, whose and why, in words.
    lines = second.summary().splitlines()[1:]
    assert lines[0] == "  to train on: 28 faces (14 smile / 14 non-smile) of 5 people"
    assert lines[1].startswith("  held back for testing: 12 faces (6 smile / 6 non-smile) of 2 people, never trained on")
    assert lines[2].startswith("  also held back, not used: 2 more face(s) of those test people/videos, not in the frozen split")


def test_a_one_class_test_split_is_not_frozen_so_the_grown_set_gets_a_real_one(tmp_path, conn):
    """p01 comes first in the split's hash order and only smiles: holding p01 out froze a one-class test
    split for good, which the gate cannot judge on, and every later fine-tune of the set failed on it."""
    root = write_set(tmp_path / "set", {"p01": (3, 0), "p02": (3, 3)})
    first = prepare(root, conn, on=date(2026, 6, 1))
    assert {c.item.smile for c in first.validation} == {1}  # this run's split: what there is
    assert not (root / VALIDATION_FILE).exists()  # ... but not frozen
    grown = write_set(tmp_path / "more", {"p03": (3, 3), "p04": (3, 3)}, seed=5, prefix="new_")
    for png in grown.rglob("*.png"):
        (root / png.relative_to(grown)).write_bytes(png.read_bytes())
    with open(root / "manifest.csv", "a") as out, open(grown / "manifest.csv") as new:
        out.writelines(new.readlines()[1:])
    second = prepare(root, conn, on=date(2026, 6, 1))
    assert {c.item.smile for c in second.validation} == {0, 1}
    assert json.loads((root / VALIDATION_FILE).read_text())["items"] == sorted(c.md5 for c in second.validation)


def test_items_without_consent_are_refused(tmp_path, conn):
    root = write_set(tmp_path / "set", {**PEOPLE, "stranger": (1, 1)})
    prepared = prepare(root, conn, on=date(2026, 6, 1))
    assert len(prepared.refused) == 2
    assert all("not in the consent registry" in reason for _, reason in prepared.refused)
    used = prepared.train + prepared.validation + prepared.held_back
    assert "stranger" not in {c.item.group for c in used}
    assert "  left out: 2 face(s) without consent to fine-tune (participant 'stranger' is not in the consent registry)" in (
        prepared.summary().splitlines()
    )


def test_bad_sets_get_clear_errors(tmp_path, conn):
    with pytest.raises(FinetuneSetError, match="not a folder"):
        load_collected(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FinetuneSetError, match="smile/ and non_smile/"):
        load_collected(tmp_path / "empty")
    one = write_set(tmp_path / "one", {"p01": (2, 2)})
    with pytest.raises(FinetuneSetError, match="at least 2 groups"):
        prepare(one, conn)
    root = write_set(tmp_path / "set", PEOPLE)
    (root / VALIDATION_FILE).write_text("{broken")
    with pytest.raises(FinetuneSetError, match="unreadable frozen validation split"):
        prepare(root, conn)


def test_write_items_makes_a_set_that_loads_with_its_groups(tmp_path):
    source = write_set(tmp_path / "src", {"a": (1, 1), "b": (1, 0)})
    items = [c.item for c in load_collected(source)]
    root = write_items(tmp_path / "new", items, consent_ref="public:test")
    loaded = load_collected(root)
    assert sorted((c.item.group, c.item.smile, c.consent_ref) for c in loaded) == [
        ("a", 0, "public:test"),
        ("a", 1, "public:test"),
        ("b", 1, "public:test"),
    ]
    assert set_version(loaded) == set_version(load_collected(source))
    with pytest.raises(FinetuneSetError, match="never overwritten"):
        write_items(root, items, consent_ref="public:test")


def test_the_summary_counts_faces_linked_to_no_one_by_video(tmp_path, conn):
    """Crops of unlinked faces are grouped by video (`video-<hash>`): the summary says videos, not people."""
    videos = {f"video-{i:012d}": (3, 3) for i in range(4)}
    root = write_set(tmp_path / "set", {"p01": (3, 3), **videos}, consent=dict.fromkeys(videos, "public:test"))
    train, test = prepare(root, conn, on=date(2026, 6, 1)).summary().splitlines()[1:3]
    assert train == "  to train on: 18 faces (9 smile / 9 non-smile) of 3 videos (faces linked to no one)"
    assert test.startswith("  held back for testing: 12 faces (6 smile / 6 non-smile) of 1 person and 1 video (faces linked to no one),")
