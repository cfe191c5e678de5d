import csv
import errno
import json
import os
import subprocess
import sys

import pytest
from media import astronaut_video, audio_only, still_image, synthetic_video, truncated_copy, zero_length
from pipe_helpers import BrightnessScorer

from laughvid import atomic
from laughvid.cli import EXIT_FAILURES, EXIT_OK, EXIT_USAGE, main
from laughvid.config import SHIPPED_MODEL_DIR as DEFAULT_MODEL_DIR
from laughvid.pipeline.scoring import SmileClassifier

HAS_MODEL = (DEFAULT_MODEL_DIR / "model.onnx").is_file()
needs_model = pytest.mark.skipif(not HAS_MODEL, reason=f"needs the trained smile model at {DEFAULT_MODEL_DIR}/model.onnx")


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    return {
        "face": astronaut_video(
            d / "face.mp4", seconds=3, fps=15, blank_spans=[(1.5, 3.0)]
        ),  # the face is carried up to 1 s into the blank
        "pattern": synthetic_video(d / "pattern.mp4", seconds=1),
        "empty": zero_length(d / "empty.mp4"),
        "voice": audio_only(d / "voice.m4a"),
        "cut": truncated_copy(astronaut_video(d / "full.mp4", seconds=1), d / "cut.mp4"),
        "photo": still_image(d / "photo.mp4"),
    }


@pytest.fixture
def stand_in_model(monkeypatch):
    monkeypatch.setattr(SmileClassifier, "load", classmethod(lambda cls, model_dir=None, **_: BrightnessScorer()))


def _read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_bad_files_are_reported_and_the_rest_are_analysed(videos, tmp_path, stand_in_model, capsys):
    order = ["empty", "face", "voice", "cut", "photo", "pattern"]
    code = main(
        [
            "analyze",
            *(str(videos[k]) for k in order),
            "--out",
            str(tmp_path / "out"),
            "--store",
            str(tmp_path / "s.sqlite"),
            "--quiet",
            "--workers",
            "0",  # in this process: the stand-in model is this process's
            "--on-threshold",
            "0.3",
            "--off-threshold",
            "0.2",
        ]
    )
    assert code == EXIT_FAILURES
    err = capsys.readouterr().err
    assert "empty.mp4: file is empty" in err and "voice.m4a: has no video stream" in err and "cut.mp4: not a readable video" in err
    assert "photo.mp4: is a still image (PNG data), not a video" in err
    assert err.splitlines()[-1] == "laughvid analyze: 2 analysed, 0 cached, 4 failed"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["face", "pattern"]

    timeline = _read_csv(tmp_path / "out" / "face" / "timeline.csv")
    assert list(timeline[0]) == ["time_s", "laugh_prob", "faces", "laugh_intensity"] and len(timeline) == 30
    assert all(r["laugh_prob"] for r in timeline[:15]) and all(r["laugh_prob"] == "" for r in timeline[-5:])  # no face = empty
    assert all(0 <= float(r["laugh_intensity"]) <= 1 for r in timeline[:15]) and all(r["laugh_intensity"] == "" for r in timeline[-5:])
    segments = _read_csv(tmp_path / "out" / "face" / "segments.csv")
    assert {"start_s", "end_s", "peak_prob"} <= set(segments[0])
    doc = json.loads((tmp_path / "out" / "face" / "analysis.json").read_text())
    assert doc["model_version"] == "brightness-test" and doc["analysis_params"]["fps"] == 10
    assert doc["tracks"] and doc["tracks"][0]["observations"][0]["box"]
    assert doc["smoothing_params"]["on_threshold"] == pytest.approx(0.3)
    assert [e["laugh_intensity"] for e in doc["timeline"]] == [
        float(r["laugh_intensity"]) if r["laugh_intensity"] else None for r in timeline
    ]
    assert all(r["laugh_prob"] == "" for r in _read_csv(tmp_path / "out" / "pattern" / "timeline.csv"))


def test_rerun_is_served_from_the_store_and_smoothing_flags_apply(videos, tmp_path, stand_in_model, capsys):
    args = ["analyze", str(videos["face"]), "--out", str(tmp_path / "out"), "--store", str(tmp_path / "s.sqlite"), "--quiet"]
    assert main(args) == EXIT_OK
    assert main([*args, "--on-threshold", "0.99", "--off-threshold", "0.9"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "(cached)" in out.splitlines()[-1]
    assert _read_csv(tmp_path / "out" / "face" / "segments.csv") == []


class _FillsUp:
    """A file on a disk that fills up: the first 100 bytes of a write land, then ENOSPC."""

    def __init__(self, handle):
        self.handle = handle

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()

    def write(self, data):
        self.handle.write(data[:100])
        self.handle.flush()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self.handle.name)

    def __getattr__(self, name):
        return getattr(self.handle, name)


def test_a_full_disk_keeps_the_previous_results_whole(videos, tmp_path, stand_in_model, capsys, monkeypatch):
    args = ["analyze", str(videos["face"]), "--out", str(tmp_path / "out"), "--store", str(tmp_path / "s.sqlite"), "--quiet"]
    assert main(args) == EXIT_OK
    folder = tmp_path / "out" / "face"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    changed = [*args, "--on-threshold", "0.99", "--off-threshold", "0.9"]  # no segments: segments.csv and analysis.json would change
    real_open = open
    with monkeypatch.context() as disk:  # the disk fills up while analysis.json is written (after both CSVs)
        disk.setattr(
            atomic,
            "open",
            lambda path, *a, **k: (_FillsUp if str(path).endswith(".json") else lambda h: h)(real_open(path, *a, **k)),
            raising=False,
        )
        assert main(changed) == EXIT_FAILURES
    err = capsys.readouterr().err
    assert f"face.mp4: cannot write its results to {folder} (No space left on device); the files already there are unchanged" in err
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # all three as they were (segments.csv too), no temp file
    json.loads(before["analysis.json"])
    assert main(changed) == EXIT_OK and "(cached)" in capsys.readouterr().out  # space again: written without analysing again
    assert _read_csv(folder / "segments.csv") == [] and sorted(p.name for p in folder.iterdir()) == sorted(before)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """lib/top.mp4, lib/notes.txt, lib/sub/a.mp4, lib/sub/b.MOV (three lengths: same bytes would be one cached analysis)."""
    root = tmp_path_factory.mktemp("lib")
    synthetic_video(root / "top.mp4", seconds=0.5)
    (root / "notes.txt").write_text("not a video")
    (root / "sub").mkdir()
    synthetic_video(root / "sub" / "a.mp4", seconds=0.6)
    synthetic_video(root / "sub" / "b.MOV", seconds=0.7)
    return root


def _analyze(tmp_path, *paths_and_flags):
    args = ["analyze", *map(str, paths_and_flags), "--out", str(tmp_path / "out"), "--store", str(tmp_path / "s.sqlite"), "--quiet"]
    return main([*args, "--workers", "0"])  # in this process: the stand-in model is this process's


def _outputs(tmp_path):
    return sorted(p.name for p in (tmp_path / "out").iterdir()) if (tmp_path / "out").exists() else []


def test_a_folder_gives_its_videos_and_recursive_its_sub_folders(library, tmp_path, stand_in_model, capsys):
    assert _analyze(tmp_path, library) == EXIT_OK
    assert _outputs(tmp_path) == ["top"]  # nothing from sub/, notes.txt skipped
    assert capsys.readouterr().err.splitlines()[-1] == "laughvid analyze: 1 analysed, 0 cached, 0 failed"

    assert _analyze(tmp_path, library, "--recursive") == EXIT_OK
    assert _outputs(tmp_path) == ["a", "b", "top"]
    captured = capsys.readouterr()
    assert "notes.txt" not in captured.out + captured.err
    assert captured.err.splitlines()[-1] == "laughvid analyze: 2 analysed, 1 cached, 0 failed"

    assert _analyze(tmp_path, library, "--recursive") == EXIT_OK  # a rerun: all from the store
    assert capsys.readouterr().err.splitlines()[-1] == "laughvid analyze: 0 analysed, 3 cached, 0 failed"


def test_progress_in_a_log_is_plain_lines_not_a_redrawn_bar(library, tmp_path, stand_in_model, capsys):
    """Run with stderr to a file (nohup, cron, CI): no carriage returns, a line per tenth, ending at 100 %."""
    args = ["analyze", str(library), "--recursive", "--out", str(tmp_path / "out"), "--store", str(tmp_path / "s.sqlite")]
    assert main([*args, "--workers", "0"]) == EXIT_OK
    err = capsys.readouterr().err
    assert "\r" not in err and "|" not in err  # no bar drawn
    progress = [line for line in err.splitlines() if line.startswith("progress ")]
    assert "0/3 files, now: " in progress[0]
    assert progress[-1].startswith("progress 100 % after ") and "3/3 files" in progress[-1]
    percents = [int(line.split()[1]) for line in progress]
    below = [p for p in percents if p < 100]
    assert percents == sorted(percents) and len(below) == len({p // 10 for p in below})  # at most one line per tenth
    assert err.splitlines()[-1] == "laughvid analyze: 3 analysed, 0 cached, 0 failed"

    assert main([*args, "--workers", "0"]) == EXIT_OK  # a rerun: nothing to analyse, progress counts files
    progress = [line for line in capsys.readouterr().err.splitlines() if line.startswith("progress ")]
    assert [line.split()[1] for line in progress] == ["33", "67", "100"], progress  # each said 100 %
    assert "3/3 files" in progress[-1]


def test_include_picks_the_matching_files_only(library, tmp_path, stand_in_model, capsys):
    assert _analyze(tmp_path, library, "--recursive", "--include", "*.mov") == EXIT_OK
    assert _outputs(tmp_path) == ["b"]  # b.MOV: globs ignore case
    assert capsys.readouterr().err.splitlines()[-1] == "laughvid analyze: 1 analysed, 0 cached, 0 failed"


def test_a_file_named_twice_is_analysed_once(library, tmp_path, stand_in_model, capsys):
    a = library / "sub" / "a.mp4"
    assert _analyze(tmp_path, a, library / "sub" / ".." / "sub" / "a.mp4", library / "sub", "--include", "*.mp4") == EXIT_OK
    captured = capsys.readouterr()
    assert _outputs(tmp_path) == ["a"] and len(captured.out.splitlines()) == 1
    assert captured.err.splitlines()[-1] == "laughvid analyze: 1 analysed, 0 cached, 0 failed"


def test_a_missing_path_or_an_empty_folder_is_said(library, tmp_path, stand_in_model, capsys):
    assert _analyze(tmp_path, library / "top.mp4", tmp_path / "nope") == EXIT_USAGE
    assert f"{tmp_path / 'nope'}: no such file or folder" in capsys.readouterr().err
    assert _outputs(tmp_path) == [] and not (tmp_path / "s.sqlite").exists()  # refused before anything ran

    assert _analyze(tmp_path, library / "sub", "--include", "*.avi") == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"{library / 'sub'}: no file matches *.avi" in err and "no video files to analyse" in err

    assert _analyze(tmp_path, library / "sub", library / "top.mp4", "--include", "*.avi") == EXIT_OK  # the named file still runs
    assert "no file matches *.avi" in capsys.readouterr().err and _outputs(tmp_path) == ["top"]


def test_usage_errors_exit_2(videos, tmp_path, stand_in_model, capsys):
    assert main(["analyze", str(videos["face"]), "--out", str(tmp_path), "--on-threshold", "0.2", "--off-threshold", "0.5"]) == EXIT_USAGE
    assert "off_threshold" in capsys.readouterr().err


@pytest.mark.parametrize(
    "flag, value, message",
    [
        ("--fps", "nan", "fps must be a number above 0, got nan"),
        ("--fps", "inf", "fps must be a number above 0, got inf"),
        ("--fps", "0", "fps must be"),
        ("--fps", "-5", "fps must be"),
        ("--detect-every", "0", "detect_every and batch_size must be >= 1"),
        ("--median-s", "nan", "median_s must be a number of seconds >= 0, got nan"),
        ("--score-window-s", "-1", "score_window_s must be a number of seconds >= 0, got -1.0"),
    ],
)
def test_bad_numbers_are_usage_errors_before_anything_is_written(videos, tmp_path, stand_in_model, capsys, flag, value, message):
    store_path, out = tmp_path / "s.sqlite", tmp_path / "out"
    assert main(["analyze", str(videos["face"]), "--out", str(out), "--store", str(store_path), "--quiet", flag, value]) == EXIT_USAGE
    assert message in capsys.readouterr().err
    assert not store_path.exists() and not out.exists()  # no failed analysis row, no half output


def test_missing_model_is_a_usage_error(videos, tmp_path, capsys):
    code = main(
        ["analyze", str(videos["face"]), "--out", str(tmp_path), "--model", str(tmp_path / "nope"), "--store", str(tmp_path / "s.sqlite")]
    )
    assert code == EXIT_USAGE and "cannot load the smile model" in capsys.readouterr().err


@needs_model
def test_real_model_finds_the_smiling_astronaut(videos, tmp_path):
    """End to end as a user runs it: installed entry point, real detector and smile model."""
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from laughvid.cli import main; sys.exit(main())",
            "analyze",
            str(videos["face"]),
            str(videos["pattern"]),
            "--out",
            str(tmp_path / "out"),
            "--store",
            str(tmp_path / "s.sqlite"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == EXIT_OK, proc.stderr
    [segment] = _read_csv(tmp_path / "out" / "face" / "segments.csv")
    assert float(segment["start_s"]) < 0.5 and 1.5 < float(segment["end_s"]) <= 2.3  # smiling until the face leaves at 2 s
    assert float(segment["peak_prob"]) > 0.5
    assert _read_csv(tmp_path / "out" / "pattern" / "segments.csv") == []


@needs_model
def test_real_model_on_dev_clips_smiling_vs_talking(dev_videos, tmp_path):
    """A clip labelled smiling throughout gets mostly laugh segments; a talking clip gets (almost) none."""
    from laughvid.pipeline.analyze import analyze_video
    from laughvid.store import open_store

    conn = open_store(tmp_path / "s.sqlite")
    smiling = analyze_video(dev_videos / "s29.mp4", conn)
    talking = analyze_video(dev_videos / "d20.mp4", conn)
    covered = sum(s.duration_s for s in smiling.segments)
    assert covered > 0.5 * smiling.record.info.duration_s
    assert sum(s.duration_s for s in talking.segments) < 1.0
