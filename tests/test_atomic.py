"""Atomic outputs: a failed write leaves the previous file (or none), never a half-written one."""

from pathlib import Path

import pytest

from laughvid.atomic import atomic_open, atomic_path, write_text_atomic


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
