"""Atomic outputs: a failed write leaves the previous file (or none), never a half-written one."""

import os
import stat
from pathlib import Path

import cv2
import numpy as np
import pytest

from laughvid.atomic import atomic_open, atomic_path, copy_atomic, write_files_atomic, write_image_atomic, write_text_atomic


def test_failed_write_keeps_previous_file_and_leaves_no_temp(tmp_path: Path):
    target = tmp_path / "analysis.json"
    write_text_atomic(target, '{"ok": 1}\n')
    with pytest.raises(OSError, match="No space left"):
        with atomic_open(target) as handle:
            handle.write('{"half": ')
            raise OSError(28, "No space left on device")
    assert target.read_text() == '{"ok": 1}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["analysis.json"]


def test_failed_first_write_leaves_no_file(tmp_path: Path):
    target = tmp_path / "out" / "clip.mp4"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            assert tmp.suffix == ".mp4" and tmp.parent == target.parent
            tmp.write_bytes(b"partial")
            raise RuntimeError("ffmpeg failed")
    assert list(target.parent.iterdir()) == []


def test_success_replaces_content(tmp_path: Path):
    target = tmp_path / "segments.csv"
    target.write_text("old")
    write_text_atomic(target, "new")
    assert target.read_text() == "new"


def test_files_written_together_are_all_replaced_or_none(tmp_path: Path):
    lists = {tmp_path / "talk_segments.csv": "old csv", tmp_path / "talk_segments.json": "old json"}
    write_files_atomic(lists)
    (tmp_path / "blocked").write_text("a file where a folder should be")
    with pytest.raises(OSError):  # the second of three fails after the first was written in full
        write_files_atomic(
            {tmp_path / "talk_segments.csv": "new csv", tmp_path / "blocked" / "x.srt": "new", tmp_path / "talk_segments.json": "new json"}
        )
    assert {p.name: p.read_text() for p in lists} == {"talk_segments.csv": "old csv", "talk_segments.json": "old json"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocked", "talk_segments.csv", "talk_segments.json"]


def test_images_are_encoded_by_suffix_and_an_unknown_one_is_an_oserror(tmp_path: Path):
    image = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    write_image_atomic(tmp_path / "crop.png", image)
    assert np.array_equal(cv2.imread(str(tmp_path / "crop.png")), image)
    with pytest.raises(OSError, match="cannot encode an image as .xyz"):
        write_image_atomic(tmp_path / "sheet.xyz", image)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crop.png"]


def test_a_copy_appears_whole_or_not_at_all(tmp_path: Path):
    (tmp_path / "crop.png").write_bytes(b"png bytes")
    copy_atomic(tmp_path / "crop.png", tmp_path / "export" / "crop.png")
    assert (tmp_path / "export" / "crop.png").read_bytes() == b"png bytes"
    with pytest.raises(FileNotFoundError):
        copy_atomic(tmp_path / "gone.png", tmp_path / "export" / "gone.png")
    assert sorted(p.name for p in (tmp_path / "export").iterdir()) == ["crop.png"]


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600)])
def test_outputs_get_the_permissions_the_umask_gives(tmp_path: Path, umask: int, mode: int):
    """Exported clips, lists and models are read by others as the user's umask allows (a plain `open()`
    file), not left owner-only as the temp file `mkstemp` makes was."""
    old = os.umask(umask)
    try:
        write_text_atomic(tmp_path / "segments.csv", "index\n")
        write_image_atomic(tmp_path / "crop.png", np.zeros((4, 4, 3), np.uint8))
        with atomic_path(tmp_path / "clip.mp4") as tmp:  # as ffmpeg writes a clip: into the temp path
            tmp.write_bytes(b"clip")
    finally:
        os.umask(old)
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()} == dict.fromkeys(
        ["segments.csv", "crop.png", "clip.mp4"], mode
    )
