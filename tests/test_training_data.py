"""Loaders for every supported data layout, on small generated images, and the dedup rules."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from laughvid.training import data

RNG = np.random.default_rng(0)


def write_image(path: Path, size: int = 48, value: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.full((size, size), value, np.uint8) if value is not None else RNG.integers(0, 256, (size, size), np.uint8)
    cv2.imwrite(str(path), image)
    return path


def test_fer_folders_relabel_happy_and_map_splits(tmp_path):
    for split in ("train", "validation", "test"):
        for emotion, n in (("happy", 2), ("neutral", 3), ("angry", 1)):
            for i in range(n):
                write_image(tmp_path / split / emotion / f"{split}_{emotion}_{i}.jpg")
    items = data.load_fer_folders(tmp_path)
    assert len(items) == 18
    assert Counter((it.split, it.smile) for it in items) == {(s, 1): 2 for s in data.SPLITS} | {(s, 0): 4 for s in data.SPLITS}
    assert {it.source for it in items} == {"fer2013"}


def test_fer_csv_reads_pixels_and_usage(tmp_path):
    pixels = " ".join(["7"] * 2304)
    rows = ["emotion,pixels,Usage", f"3,{pixels},Training", f"0,{pixels},PublicTest", f"6,{pixels},PrivateTest"]
    (tmp_path / "fer2013.csv").write_text("\n".join(rows) + "\n")
    items = data.load_fer_csv(tmp_path / "fer2013.csv")
    assert [(it.smile, it.split) for it in items] == [(1, "train"), (0, "validation"), (0, "test")]
    assert data.read_grey(items[0]).shape == (48, 48) and int(data.read_grey(items[0])[0, 0]) == 7


@pytest.mark.parametrize("bad_row, message", [("3,1 2 3,Training", "2304"), ("3,{p},Elsewhere", "Usage")])
def test_fer_csv_rejects_bad_rows_with_line_number(tmp_path, bad_row, message):
    (tmp_path / "f.csv").write_text("emotion,pixels,Usage\n" + bad_row.format(p=" ".join(["1"] * 2304)) + "\n")
    with pytest.raises(ValueError, match=message) as err:
        data.load_fer_csv(tmp_path / "f.csv")
    assert "f.csv:2" in str(err.value)


def test_smilesmiled_layout_and_deterministic_split(tmp_path):
    for i in range(30):
        write_image(tmp_path / "SMILEs/positives/positives7" / f"{i}.jpg", 64)
        write_image(tmp_path / "SMILEs/negatives/negatives7" / f"{100 + i}.jpg", 64)
    items = data.load_smilesmiled(tmp_path)
    assert Counter(it.smile for it in items) == {1: 30, 0: 30}
    assert [it.split for it in items] == [it.split for it in data.load_smilesmiled(tmp_path / "SMILEs")]
    assert {it.split for it in items} == set(data.SPLITS)


def test_ckplus_splits_by_subject(tmp_path):
    for subject in range(20):
        for emotion in ("happy", "surprise"):
            for frame in range(3):
                write_image(tmp_path / emotion / f"S{subject:03d}_001_0000001{frame}.png")
    items = data.load_ckplus(tmp_path)
    assert len(items) == 120 and sum(it.smile for it in items) == 60
    splits_per_subject = {it.group: set() for it in items}
    for it in items:
        splits_per_subject[it.group].add(it.split)
    assert all(len(s) == 1 for s in splits_per_subject.values())  # a subject never straddles splits
    assert len({next(iter(s)) for s in splits_per_subject.values()}) > 1


def test_ckplus_rejects_unknown_file_names(tmp_path):
    write_image(tmp_path / "happy" / "face.png")
    with pytest.raises(ValueError, match="Sxxx_yyy_"):
        data.load_ckplus(tmp_path)


def test_affectnet_folders_numeric_and_named(tmp_path):
    for code in range(11):
        write_image(tmp_path / "train_set" / str(code) / f"t{code}.jpg")
    write_image(tmp_path / "val_set" / "1" / "v1.jpg")
    write_image(tmp_path / "val_set" / "0" / "v0.jpg")
    items = data.load_affectnet_folders(tmp_path)
    assert len(items) == 10  # codes 8, 9, 10 (none, uncertain, no face) skipped
    assert {Path(it.path).name for it in items if it.smile} == {"t1.jpg", "v1.jpg"}
    assert {it.split for it in items if Path(it.path).parent.parent.name == "val_set"} == {"test"}

    three = tmp_path / "three"
    for split in ("train", "val", "test"):
        write_image(three / split / "1" / f"{split}.png")
    assert {Path(it.path).stem: it.split for it in data.load_affectnet_folders(three)} == {
        "train": "train",
        "val": "validation",
        "test": "test",
    }

    named = tmp_path / "named"
    write_image(named / "Happy" / "a.png")
    write_image(named / "Neutral" / "b.png")
    assert sorted(it.smile for it in data.load_affectnet_folders(named)) == [0, 1]


def test_affectnet_annotation_csv_crops_the_face_box(tmp_path):
    image = np.zeros((100, 120), np.uint8)
    image[20:60, 30:70] = 200  # the face box
    (tmp_path / "img" / "5").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "img/5/a.png"), image)
    write_image(tmp_path / "img/5/b.png", 100)
    header = "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal"
    rows = [
        header,
        '5/a.png,30,20,40,40,"1;2",1,0.5,0.2',
        '5/b.png,0,0,100,100,"1;2",0,0,0',
        '5/b.png,0,0,100,100,"",9,0,0',
        '5/missing.png,0,0,10,10,"",1,0,0',
    ]
    (tmp_path / "validation.csv").write_text("\n".join(rows) + "\n")
    items = data.load_affectnet_csv(tmp_path / "validation.csv", tmp_path / "img")
    assert [(Path(it.path).name, it.smile, it.split) for it in items] == [("a.png", 1, "test"), ("b.png", 0, "test")]
    face = data.read_grey(items[0])
    assert face.shape == (40, 40) and face.min() == 200


def test_affectnet_csv_requires_its_columns(tmp_path):
    (tmp_path / "training.csv").write_text("path,label\nx.png,1\n")
    with pytest.raises(ValueError, match="missing columns"):
        data.load_affectnet_csv(tmp_path / "training.csv", tmp_path)


def test_generic_folders_use_manifest_groups(tmp_path):
    for i in range(6):
        write_image(tmp_path / "smile" / f"s{i}.png", 96)
        write_image(tmp_path / "non_smile" / f"n{i}.png", 96)
    lines = ["path,label,group,video_sha256,time_s,track_id,reviewer,reviewed_at,model_version,consent_ref"]
    lines += [f"smile/s{i}.png,smile,person{i % 2},,,,,,," for i in range(6)]
    (tmp_path / "manifest.csv").write_text("\n".join(lines) + "\n")
    items = data.load_smile_folders(tmp_path)
    assert Counter(it.smile for it in items) == {1: 6, 0: 6}
    by_group = {}
    for it in items:
        if it.smile:
            by_group.setdefault(it.group, set()).add(it.split)
    assert set(by_group) == {"person0", "person1"} and all(len(s) == 1 for s in by_group.values())


def test_generic_folders_need_class_folders(tmp_path):
    with pytest.raises(ValueError, match="smile/ and non_smile/"):
        data.load_smile_folders(tmp_path)


def test_deduplicate_counts_each_rule(tmp_path):
    a = write_image(tmp_path / "train/happy/a.jpg")
    shutil.copy(a, tmp_path / "train/happy/a_copy.jpg")  # exact duplicate in one split
    b = write_image(tmp_path / "train/happy/b.jpg")
    write_image(tmp_path / "test/happy/x.jpg")
    shutil.copy(b, tmp_path / "test/happy/b_leak.jpg")  # same image in train and test
    c = write_image(tmp_path / "train/happy/c.jpg")
    (tmp_path / "train/sad").mkdir()
    shutil.copy(c, tmp_path / "train/sad/c_conflict.jpg")  # same image, other label
    write_image(tmp_path / "validation/sad/v.jpg")
    items, report = data.deduplicate(data.load_fer_folders(tmp_path))
    assert report.as_dict() == {"input_items": 8, "exact_duplicates": 1, "cross_split": 1, "conflicting_labels": 2, "kept": 4}
    kept = {Path(it.path).name for it in items}
    assert kept == {"a.jpg", "b_leak.jpg", "x.jpg", "v.jpg"} or kept == {"a_copy.jpg", "b_leak.jpg", "x.jpg", "v.jpg"}


def test_fit_square_keeps_aspect(tmp_path):
    wide = np.zeros((40, 80), np.uint8)
    wide[:, 20:60] = 255
    assert data.fit_square(wide, 48).min() == 255


@pytest.mark.data
def test_real_data_dedup_counts_match_the_data_readme(shared_data):
    _, fer = data.deduplicate(data.load_fer_folders(shared_data / "FER2013"))
    assert fer.input_items == 35887
    # README: 1,853 extra copies; 6 groups disagree on happy vs non-happy (all their copies go).
    removed = fer.exact_duplicates + fer.cross_split + fer.conflicting_labels
    assert removed == 1853 + 6
    assert fer.as_dict() == {"input_items": 35887, "exact_duplicates": 1103, "cross_split": 732, "conflicting_labels": 24, "kept": 34028}
    smile, report = data.deduplicate(data.load_smilesmiled(shared_data / "SMILEsmileD"))
    assert report.conflicting_labels == 10  # 5 groups in both classes
    ck = data.load_ckplus(shared_data / "CK+48")
    assert len(ck) == 981 and len({it.group for it in ck}) == 118


def test_loaders_keep_the_expression_behind_the_binary_label(tmp_path):
    for name in ("happy", "Sadness", "angry", "contempt"):
        write_image(tmp_path / "ck" / name / f"S001_001_{name}.png")
        write_image(tmp_path / "fer" / "train" / name / f"{name}.png")
    expected = {"happy": "happy", "Sadness": "sad", "angry": "anger", "contempt": "contempt"}
    for items in (data.load_ckplus(tmp_path / "ck"), data.load_fer_folders(tmp_path / "fer")):
        assert {Path(it.path).parent.name: data.EMOTIONS[it.emotion] for it in items} == expected
    pixels = " ".join(["7"] * 2304)
    (tmp_path / "fer2013.csv").write_text(f"emotion,pixels,Usage\n0,{pixels},Training\n6,{pixels},Training\n")
    assert [data.EMOTIONS[it.emotion] for it in data.load_fer_csv(tmp_path / "fer2013.csv")] == ["anger", "neutral"]
    write_image(tmp_path / "SMILEs/positives/positives7/a.jpg", 64)
    write_image(tmp_path / "SMILEs/negatives/negatives7/b.jpg", 64)
    assert {it.emotion for it in data.load_smilesmiled(tmp_path)} == {data.UNKNOWN_EMOTION}  # smile/no smile only


def test_deduplicate_drops_the_expression_where_copies_disagree(tmp_path):
    a = write_image(tmp_path / "train" / "sad" / "a.png", value=10)
    b = write_image(tmp_path / "train" / "angry" / "b.png", value=10)
    kept, report = data.deduplicate(data.load_fer_folders(tmp_path))
    assert report.exact_duplicates == 1 and report.conflicting_labels == 0  # both non-smile: one copy stays
    assert len(kept) == 1 and kept[0].smile == 0 and kept[0].emotion == data.UNKNOWN_EMOTION
    assert {a.name, b.name} >= {Path(kept[0].path).name}
