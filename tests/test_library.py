"""The library listing (laughvid.review.library and `laughvid library`) on a real store."""

import json

import numpy as np
import pytest
from media import astronaut_video, synthetic_video
from pipe_helpers import BrightnessScorer

from laughvid import review, store
from laughvid.cli import EXIT_OK, main
from laughvid.pipeline.analyze import AnalysisParams, analyze_video
from laughvid.review.library import library_entries


class AlwaysSmiling(BrightnessScorer):
    version = "smiling-test"

    def score(self, crops):
        super().score(crops)
        return np.full(len(crops), 0.9)


@pytest.fixture(scope="module")
def library_store(tmp_path_factory):
    """A store with a reviewed video (one accepted, one pending, one added), a failed one and a face-less one."""
    d = tmp_path_factory.mktemp("library")
    path = d / "s.sqlite"
    conn = store.open_store(path)
    clip = astronaut_video(d / "faces.mp4", seconds=6, fps=15, blank_spans=[(1.5, 4.0)])  # longer than a missed face is carried
    faces = analyze_video(clip, conn, AlwaysSmiling(), AnalysisParams(geometry=""))  # the stand-in's 0.9 alone
    assert len(faces.segments) == 2
    sha = faces.record.sha256
    first, _ = review.review_list(faces.segments, conn, sha)
    review.accept(conn, sha, first, "ana")
    review.add(conn, sha, 2.8, 3.4, "ana")
    with pytest.raises(RuntimeError, match="simulated crash"):
        analyze_video(astronaut_video(d / "broken.mp4", seconds=1), conn, BrightnessScorer(fail_after_calls=0))
    analyze_video(synthetic_video(d / "pattern.mp4", seconds=1), conn, AlwaysSmiling())
    conn.close()
    return path, d


def test_entries_say_each_videos_state_and_review_counts(library_store):
    path, d = library_store
    conn = store.open_store(path)
    entries = {e.name: e for e in library_entries(conn)}
    assert sorted(entries) == ["broken.mp4", "faces.mp4", "pattern.mp4"]
    faces = entries["faces.mp4"]
    assert (faces.status, faces.model_version, faces.error) == ("done", "smiling-test", None)
    assert (faces.pending, faces.accepted, faces.rejected, faces.added, faces.segments) == (1, 1, 0, 1, 3)
    assert faces.duration_s == pytest.approx(6, abs=0.1) and faces.size_bytes == (d / "faces.mp4").stat().st_size and faces.on_disk
    broken = entries["broken.mp4"]
    assert (broken.status, broken.error, broken.segments) == ("failed", "RuntimeError: simulated crash", 0)
    assert entries["pattern.mp4"].segments == 0 and entries["pattern.mp4"].status == "done"
    assert [e.name for e in library_entries(conn, status="failed")] == ["broken.mp4"]


def test_a_moved_file_is_flagged(library_store, tmp_path):
    path, d = library_store
    copy = tmp_path / "s.sqlite"
    store.backup(path, copy)
    (d / "pattern.mp4").rename(tmp_path / "pattern.mp4")
    try:
        entries = {e.name: e for e in library_entries(store.open_store(copy))}
        assert not entries["pattern.mp4"].on_disk and entries["faces.mp4"].on_disk
    finally:
        (tmp_path / "pattern.mp4").rename(d / "pattern.mp4")


def test_cli_table_json_and_failed(library_store, capsys):
    path, d = library_store
    assert main(["library", "--store", str(path)]) == EXIT_OK
    out = capsys.readouterr().out.splitlines()
    faces = next(line for line in out if line.endswith("faces.mp4"))
    assert faces.split()[:7] == ["done", "0:00:06", f"{(d / 'faces.mp4').stat().st_size / 1e6:.1f}", "MB", "1", "1", "0"]
    assert "failed: RuntimeError: simulated crash" in "\n".join(out)
    assert out[-1].startswith("3 video(s)") and out[-1].endswith("2 analysed, 1 failed")

    assert main(["library", "--store", str(path), "--failed"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "broken.mp4" in out and "faces.mp4" not in out

    assert main(["library", "--store", str(path), "--json"]) == EXIT_OK
    doc = {e["name"]: e for e in json.loads(capsys.readouterr().out)}
    assert doc["faces.mp4"]["accepted"] == 1 and doc["faces.mp4"]["segments"] == 3 and doc["broken.mp4"]["error"]


def test_an_empty_store_says_how_to_fill_it(tmp_path, capsys):
    assert main(["library", "--store", str(tmp_path / "new.sqlite")]) == EXIT_OK
    assert "holds no videos yet" in capsys.readouterr().out


def test_no_failed_analyses_says_where_unreadable_files_are_reported(tmp_path, capsys):
    """After a run that ended '2 failed' (two files that are not video), --failed said only 'no failed analyses'."""
    assert main(["library", "--store", str(tmp_path / "new.sqlite"), "--failed"]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.startswith("no failed analyses in the store") and "named by `laughvid analyze`" in out
