"""`laughvid export` and `laughvid relink`: the app's exports from a script, with its exit codes, and
long file names (issue 10)."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys

import av
import pytest
from media import astronaut_video, synthetic_video
from pipe_helpers import BrightnessScorer

from laughvid import review, store
from laughvid.cli import EXIT_FAILURES, EXIT_OK, EXIT_USAGE, main
from laughvid.cli.analyze import EXIT_INTERRUPTED
from laughvid.config import SHIPPED_MODEL_DIR
from laughvid.export.crops import read_manifest
from laughvid.pipeline.analyze import load_result
from laughvid.pipeline.decode import probe
from laughvid.pipeline.scoring import SmileClassifier

SMOOTHING = ["--on-threshold", "0.3", "--off-threshold", "0.2"]  # the brightness stand-in scores the astronaut ~0.4


@pytest.fixture
def stand_in_model(monkeypatch):
    monkeypatch.setattr(SmileClassifier, "load", classmethod(lambda cls, model_dir=None, **_: BrightnessScorer()))


@pytest.fixture
def analysed(tmp_path, stand_in_model):
    """Two analysed videos: a face with a laugh to find, and a test pattern with none."""
    videos = tmp_path / "videos"
    videos.mkdir()
    face = astronaut_video(videos / "talk.mp4", seconds=4, size=(320, 180), fps=10, face_px=50, blank_spans=[(2.0, 4.0)])
    pattern = synthetic_video(videos / "pattern.mp4", seconds=1)
    s = str(tmp_path / "s.sqlite")
    assert (
        main(
            ["analyze", str(face), str(pattern), "--out", str(tmp_path / "analysis"), "--store", s, "--quiet", "--workers", "0", *SMOOTHING]
        )
        == EXIT_OK
    )
    return tmp_path, s, face


def export(s: str, out, *args: str) -> int:
    return main(["export", *args, "--out", str(out), "--store", s, *SMOOTHING])


def mp4s(folder) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.mp4")) if folder.exists() else []


def test_automatic_segments_export_clips_reel_and_the_chosen_lists(analysed, capsys):
    tmp_path, s, face = analysed
    out = tmp_path / "out"
    assert export(s, out, str(face), "--automatic", "--clips", "--reel", "--lists", "csv,json", "--pre-roll", "0.5") == EXIT_OK
    (folder,) = out.iterdir()
    assert folder.name.startswith("talk-")
    clips = sorted((folder / "clips").glob("*.mp4"))
    rows = list(csv.DictReader(open(folder / "talk_segments.csv")))
    assert len(clips) == len(rows) >= 1 and {r["state"] for r in rows} == {"pending"}
    assert sorted(p.name for p in folder.glob("talk_*")) == ["talk_highlights.mp4", "talk_segments.csv", "talk_segments.json"]
    assert json.loads((folder / "talk_segments.json").read_text())["video"] == "talk.mp4"
    with av.open(str(clips[0])) as c:
        assert c.streams.video[0].frames > 0
    assert f"1 clip(s), reel talk_highlights.mp4, lists csv,json -> {folder}" in capsys.readouterr().out


def test_reviewed_laughs_are_cut_and_a_video_is_named_by_id_name_or_hash(analysed, capsys):
    tmp_path, s, face = analysed
    conn = store.open_store(s)
    record = next(r for r in store.list_analyses(conn) if r.name == "talk.mp4")
    out = tmp_path / "out"
    assert export(s, out, "talk.mp4", "--clips") == EXIT_FAILURES  # nothing accepted yet
    assert "no accepted or added segments yet" in capsys.readouterr().err and mp4s(out) == []

    (first, *_) = load_result(conn, record.id, review_smoothing()).segments
    review.accept(conn, record.sha256, review.review_list([first], conn, record.sha256)[0], "ana")
    missed = first.end_s + 0.2  # a laugh the model missed, in free time after the accepted one
    assert missed + 0.6 <= record.info.duration_s
    review.add(conn, record.sha256, missed, missed + 0.6, "ana", record.info.duration_s)
    for ref in (str(record.id), "talk.mp4", record.sha256[:10]):
        assert export(s, out / ref, ref, "--clips", "--lists", "csv") == EXIT_OK
        rows = list(csv.DictReader(open(next((out / ref).glob("*/talk_segments.csv")))))
        assert [r["state"] for r in rows] == ["accepted", "added"]
        assert len(mp4s(out / ref)) == 2

    # A trimmed laugh's figures in the lists are the timeline's over its new bounds (analyze's timeline.csv).
    (accepted,) = [i for i in review.stored(conn, record.sha256) if i.state == "accepted"]
    review.edit_bounds(conn, record.sha256, accepted, first.start_s + 0.3, first.end_s, "ana")
    assert export(s, out / "trimmed", "talk.mp4", "--lists", "csv") == EXIT_OK
    row = next(csv.DictReader(open(next((out / "trimmed").glob("*/talk_segments.csv")))))
    timeline = [r for r in csv.DictReader(open(tmp_path / "analysis" / "talk" / "timeline.csv")) if r["laugh_prob"]]
    inside = [float(r["laugh_prob"]) for r in timeline if first.start_s + 0.3 <= float(r["time_s"]) < first.end_s]
    assert float(row["start_s"]) == pytest.approx(first.start_s + 0.3)
    assert (float(row["peak_prob"]), float(row["mean_prob"])) == (
        pytest.approx(max(inside), abs=1e-4),
        pytest.approx(sum(inside) / len(inside), abs=1e-4),
    )


def review_smoothing():
    from laughvid.pipeline.segments import SmoothingParams

    return SmoothingParams(on_threshold=0.3, off_threshold=0.2)


def test_usage_errors_exit_2_and_bad_inputs_exit_1_while_the_others_export(analysed, capsys):
    tmp_path, s, face = analysed
    out = tmp_path / "out"
    assert export(s, out, str(face)) == EXIT_USAGE
    assert "nothing to export" in capsys.readouterr().err
    assert export(s, out, str(face), "--clips", "--blur", "--cut", "copy") == EXIT_USAGE
    assert "--blur re-encodes anyway" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        export(s, out, str(face), "--lists", "csv,pdf")
    assert exc.value.code == EXIT_USAGE
    capsys.readouterr()

    stranger = synthetic_video(tmp_path / "talk.mp4", seconds=1, size=(320, 180))  # same name, never analysed
    code = export(s, out, str(stranger), "999", "nothing.mp4", "pattern.mp4", str(face), "--automatic", "--clips")
    err = capsys.readouterr().err
    assert code == EXIT_FAILURES
    assert f"{stranger}: this file has not been analysed" in err and "analysis 999: no such analysis" in err
    assert "nothing.mp4: no such file, and no analysed video" in err and "pattern.mp4: the model found no laugh segments" in err
    assert "4 of 5 video(s) failed" in err
    assert mp4s(out) and all(name.startswith("talk_clip") for name in mp4s(out))  # the analysed talk.mp4 was exported


def test_a_replaced_video_is_refused_and_a_moved_one_relinked(analysed, capsys):
    tmp_path, s, face = analysed
    out = tmp_path / "out"
    moved = tmp_path / "archive" / "2024" / "talk.mp4"
    moved.parent.mkdir(parents=True)
    face.rename(moved)
    synthetic_video(face, seconds=3, size=(320, 180))  # another file where the analysed one was
    assert export(s, out, "talk.mp4", "--automatic", "--clips", "--reel") == EXIT_FAILURES
    err = capsys.readouterr().err
    assert "is not the video that was analysed" in err and "laughvid relink" in err
    assert mp4s(out) == []

    assert main(["relink", str(tmp_path / "videos"), "--store", s]) == EXIT_FAILURES  # the impostor is not it
    assert "still missing: talk.mp4" in capsys.readouterr().err
    assert main(["relink", str(tmp_path / "archive"), "--store", s]) == EXIT_OK
    assert f"relinked talk.mp4 -> {moved}" in capsys.readouterr().out
    assert main(["relink", str(tmp_path / "archive"), "--store", s]) == EXIT_OK
    assert "nothing to relink" in capsys.readouterr().out
    assert export(s, out, "talk.mp4", "--automatic", "--clips") == EXIT_OK
    assert mp4s(out)


def test_naming_the_moved_file_relinks_it(analysed, capsys):
    tmp_path, s, face = analysed
    moved = face.rename(tmp_path / "talk (copy).mp4")
    assert export(s, tmp_path / "out", str(moved), "--automatic", "--clips") == EXIT_OK
    assert main(["relink", str(tmp_path / "nowhere"), "--store", s]) == EXIT_FAILURES  # every file in place; the PATH is not
    assert "nowhere: no such file or folder" in capsys.readouterr().err


def test_a_250_character_file_name_exports_with_short_unique_names(tmp_path, stand_in_model):
    """Issue 10, row 8: `<stem>_clip01_0.00-1.50.mp4` from a 250-character name is over the 255-byte limit."""
    stem = ("the whole family laughing at grandpa's birthday toast " * 5)[:246]
    videos = [
        astronaut_video(tmp_path / f"{stem[:-1]}{c}.mp4", seconds=3, size=(320, 180), fps=10, face_px=px, blank_spans=[(2.0, 3.0)])
        for c, px in (("a", 50), ("b", 54))
    ]  # names differing in the last character
    assert len(videos[0].name) == 250
    s = str(tmp_path / "s.sqlite")
    assert (
        main(["analyze", *map(str, videos), "--out", str(tmp_path / "analysis"), "--store", s, "--quiet", "--workers", "0", *SMOOTHING])
        == EXIT_OK
    )
    out = tmp_path / "out"
    assert export(s, out, *map(str, videos), "--automatic", "--clips", "--reel", "--lists", "csv,json,srt,edl") == EXIT_OK
    written = [p for p in out.rglob("*") if p.is_file()]
    assert len(written) >= 2 * 6 and all(len(p.name.encode()) <= 255 for p in written)
    assert all(p.name.startswith(stem[:60]) for p in written)  # still says which video
    assert len({p.parent.parent.name for p in out.glob("*/clips/*.mp4")}) == 2  # one folder per video, not shared


def test_ctrl_c_during_a_blurred_export_exits_130_and_leaves_no_partial_clip(tmp_path, stand_in_model):
    """Issue 12: a blurred export shows where it is on stderr, and Ctrl-C (SIGINT, given a default
    disposition as a terminal gives it) stops it cleanly: exit 130, a message, no clip half-written."""
    video = astronaut_video(tmp_path / "long.mp4", seconds=16, size=(640, 360), fps=25, face_px=120)
    s = str(tmp_path / "s.sqlite")
    assert main(["analyze", str(video), "--out", str(tmp_path / "analysis"), "--store", s, "--quiet", "--workers", "0", *SMOOTHING]) == 0
    out = tmp_path / "out"
    cmd = [sys.executable, "-c", "import sys; from laughvid.cli import main; sys.exit(main())", "export", str(video), "--automatic"]
    cmd += ["--clips", "--blur", "--out", str(out), "--store", s, *SMOOTHING]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)
    )
    err = b""
    while b"blurring faces" not in err:  # the progress bar reached the blur of the first clip
        chunk = os.read(proc.stderr.fileno(), 4096)
        assert chunk, f"export ended before blurring: {err.decode(errors='replace')}"
        err += chunk
    proc.send_signal(signal.SIGINT)
    rest_out, rest_err = proc.communicate(timeout=60)
    err = (err + rest_err).decode(errors="replace")
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert "cancelled (export cancelled: 0 of 1 clip(s) written before the cancel)" in err and "Traceback" not in err
    assert "nothing partial was left" in err
    assert [p.name for p in out.rglob("*") if p.is_file()] == []  # no clip, no temp file


def test_rank_intensity_top_n_cuts_the_biggest_laughs_numbered_biggest_first(analysed, capsys):
    tmp_path, s, face = analysed
    conn = store.open_store(s)
    record = next(r for r in store.list_analyses(conn) if r.name == "talk.mp4")
    # intensity rises with time where the face is (0 -> 0.2 over its first 2 s); none from 3 s (no face there)
    conn.execute("UPDATE face_scores SET intensity = CASE WHEN time_s < 3 THEN time_s / 10 END WHERE analysis_id = ?", (record.id,))
    conn.commit()
    for start, end in ((0.1, 0.6), (0.8, 1.3), (1.4, 1.9), (3.2, 3.8)):  # peaks ~0.05, ~0.12, ~0.18, none
        review.add(conn, record.sha256, start, end, "ana", record.info.duration_s)
    tight = ("--pre-roll", "0", "--post-roll", "0", "--quiet")
    assert export(s, tmp_path / "top", "talk.mp4", "--clips", "--reel", "--rank", "intensity", "--top", "2", *tight) == EXIT_OK
    assert mp4s(tmp_path / "top") == ["talk_clip01_1.40-1.90.mp4", "talk_clip02_0.80-1.30.mp4", "talk_highlights.mp4"]
    (reel,) = (tmp_path / "top").rglob("talk_highlights.mp4")
    assert abs(probe(reel).duration_s - 1.0) < 0.15  # the two biggest only
    assert export(s, tmp_path / "all", "talk.mp4", "--clips", "--rank", "intensity", *tight) == EXIT_OK
    assert mp4s(tmp_path / "all") == [  # the laugh without intensity comes last
        "talk_clip01_1.40-1.90.mp4",
        "talk_clip02_0.80-1.30.mp4",
        "talk_clip03_0.10-0.60.mp4",
        "talk_clip04_3.20-3.80.mp4",
    ]
    assert export(s, tmp_path / "time", "talk.mp4", "--clips", *tight) == EXIT_OK  # default: time order
    assert mp4s(tmp_path / "time")[0] == "talk_clip01_0.10-0.60.mp4"
    capsys.readouterr()
    assert export(s, tmp_path / "bad", "talk.mp4", "--clips", "--top", "2") == EXIT_USAGE
    assert "give --rank intensity" in capsys.readouterr().err and mp4s(tmp_path / "bad") == []


@pytest.mark.skipif(not (SHIPPED_MODEL_DIR / "model.onnx").is_file(), reason=f"needs the shipped smile model in {SHIPPED_MODEL_DIR}")
def test_reviewed_segments_go_into_the_fine_tune_set_from_the_command_line(tmp_path, monkeypatch, capsys):
    """`laughvid export --finetune-set` is the app's "Add to fine-tune set": a video analysed by
    `laughvid analyze` alone (the registry has not adopted the shipped model yet) gives the review's
    labelled crops, in the set `laughvid finetune` and `consent delete` use by default."""
    home = tmp_path / "home"
    monkeypatch.setenv("LAUGHVID_HOME", str(home))
    monkeypatch.delenv("LAUGHVID_STORE", raising=False)
    monkeypatch.delenv("LAUGHVID_MODEL", raising=False)
    face = astronaut_video(tmp_path / "talk.mp4", seconds=3, size=(320, 180), fps=10, face_px=60)
    assert main(["analyze", str(face), "--out", str(tmp_path / "analysis"), "--quiet", "--workers", "0"]) == EXIT_OK
    assert main(["export", "talk.mp4", "--finetune-set", "--automatic"]) == EXIT_USAGE
    assert "--finetune-set takes reviewed segments only" in capsys.readouterr().err
    assert main(["export", "talk.mp4", "--clips"]) == EXIT_USAGE
    assert "write into --out DIR" in capsys.readouterr().err

    conn = store.open_store()
    (record,) = store.list_analyses(conn)
    review.add(conn, record.sha256, 0.0, 1.0, "ana", record.info.duration_s)
    review.mark_complete(conn, record.sha256, "ana")  # the rest of the video is not laughter
    assert main(["export", "talk.mp4", "--finetune-set", "--consent-ref", "public:test", "--quiet"]) == EXIT_OK
    rows = read_manifest(home / "finetune_set")
    smile = [float(r["time_s"]) for r in rows if r["label"] == "smile"]
    calm = [float(r["time_s"]) for r in rows if r["label"] == "non_smile"]
    assert smile and calm and max(smile) < 1.0 <= min(calm)
    assert {(r["consent_ref"], r["video_sha256"], r["model_version"]) for r in rows} == {
        ("public:test", record.sha256, record.model_version)
    }
    assert all((home / "finetune_set" / r["path"]).is_file() for r in rows)
    out = capsys.readouterr().out
    assert f"fine-tune set {home / 'finetune_set'}: {len(smile)} smile and {len(calm)} non_smile crops from this video" in out
