"""`laughvid models`, `laughvid consent`, `laughvid review-next`: thin commands, clear errors, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from loop_helpers import write_set

from laughvid import store
from laughvid.cli import EXIT_OK, EXIT_PIPE_CLOSED, EXIT_USAGE, main
from laughvid.governance.consent import link_tracks
from laughvid.lifecycle import registry
from laughvid.lifecycle.manifest import read_manifest, write_manifest
from laughvid.lifecycle.modelcard import ModelCard
from laughvid.pipeline.segments import SmoothingParams
from laughvid.store import open_store
from laughvid.training.metrics import PairedDifference
from laughvid.types import VideoInfo
from laughvid.ui.actions import unsure_moments


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("LAUGHVID_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LAUGHVID_STORE", raising=False)
    monkeypatch.delenv(registry.MODEL_ENV, raising=False)
    return tmp_path / "home"


def test_models_list_on_a_new_store_says_what_is_used(capsys):
    assert main(["models", "list"]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.startswith("no models registered yet: the shipped default ") and "version" not in out  # no empty table


def test_models_activate_and_rollback(capsys):
    conn = open_store()
    for v in ("smile-a", "smile-b"):
        registry.register(conn, registry.ModelRecord(v, f"/m/{v}", metrics={"val": {"f1": 0.8, "roc_auc": 0.9}}))
    assert main(["models", "activate", "smile-a"]) == EXIT_OK
    assert main(["models", "activate", "smile-b"]) == EXIT_OK
    assert main(["models", "rollback"]) == EXIT_OK
    assert registry.active_version(conn) == "smile-a"
    assert main(["models", "list"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "* smile-a" in out and "rolled back" in out
    assert main(["models", "activate", "smile-z"]) == EXIT_USAGE
    assert "no model version 'smile-z'" in capsys.readouterr().err


def test_activating_a_model_the_gate_kept_out_warns_with_the_gates_reasons_and_activates_it(capsys):
    """`models activate` of a fine-tune the gate refused said only "active model: ..."."""
    conn = open_store()
    few = PairedDifference("roc_auc", 0.90, 0.93, 0.01, 0.05, 0.95, 30, 4, 2000)  # a gain, on 4 groups only
    gate = registry.promotion_gate({"frozen_validation": few}, ["frozen_validation"], [], names=("smile-ft", "smile-v1"))
    registry.register(conn, registry.ModelRecord("smile-v1", "/m/v1"))
    registry.register(conn, registry.ModelRecord("smile-ft", "/m/ft", parent="smile-v1", gate=list(gate.lines)))
    assert main(["models", "activate", "smile-v1"]) == EXIT_OK
    assert capsys.readouterr().err == ""  # no gate judged the shipped model: nothing to warn about
    assert main(["models", "activate", "smile-ft"]) == EXIT_OK
    out, err = capsys.readouterr()
    assert out == "active model: smile-ft\n" and registry.active_version(conn) == "smile-ft"
    assert "warning: the promotion gate kept smile-ft out when it was trained; activated anyway" in err
    assert "`laughvid models rollback` re-activates smile-v1" in err
    assert "decision: KEEP smile-v1" in err and "frozen_validation: fewer than 20 people/videos" in err
    assert registry.activation_log(conn)[-1][2] == "manual, against the promotion gate"
    assert main(["models", "list"]) == EXIT_OK
    assert "kept out by the promotion gate" in next(line for line in capsys.readouterr().out.splitlines() if "smile-ft" in line)


def test_consent_list_on_an_empty_store_says_how_to_register(home, capsys):
    assert main(["consent", "list"]) == EXIT_OK
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("no participant registered yet: `laughvid consent add p01 "), "was a bare header row"
    assert main(["consent", "add", "p01", "--name", "Kim", "--scope", "finetune", "--date", "2026-01-01"]) == EXIT_OK
    capsys.readouterr()
    assert main(["consent", "list"]) == EXIT_OK
    assert capsys.readouterr().out.splitlines()[1].split() == ["p01", "Kim", "finetune", "2026-01-01", "-", "active"]


def test_consent_add_delete_needs_confirmation(home, tmp_path, capsys):
    ft = write_set(home / "finetune_set", {"p01": (1, 1), "p02": (1, 1)})
    assert main(["consent", "add", "p01", "--name", "Kim", "--scope", "finetune", "--date", "2026-01-01"]) == EXIT_OK
    assert main(["consent", "add", "p01", "--name", "Kim", "--scope", "finetune"]) == EXIT_USAGE
    assert main(["consent", "export", "p01", "--out", str(tmp_path / "out")]) == EXIT_OK
    assert (tmp_path / "out" / "p01.json").exists()
    assert main(["consent", "delete", "p01"]) == EXIT_USAGE  # no --yes: nothing deleted
    assert len(list(ft.rglob("*.png"))) == 4
    assert main(["consent", "delete", "p01", "--yes"]) == EXIT_OK  # default set: the UI's fine-tune set
    assert len(list(ft.rglob("*.png"))) == 2
    assert "deleted p01: 2 crops" in capsys.readouterr().out


def test_consent_delete_with_a_set_also_covers_the_apps_set(home, tmp_path, capsys):
    """`--set DIR` replaced the app's set and the models' sets: p01's crops in the app's set survived; and
    export copied two sets of the same folder name into one folder, one copy overwriting the other."""
    app_set = write_set(home / "finetune_set", {"p01": (1, 1), "p02": (1, 0)})
    other = write_set(tmp_path / "other", {"p01": (1, 0)})
    assert main(["consent", "add", "p01", "--name", "Kim", "--scope", "finetune", "--date", "2026-01-01"]) == EXIT_OK
    twin = write_set(tmp_path / "twin" / "finetune_set", {"p01": (1, 0)}, seed=1)  # same folder name as the app's set
    assert main(["consent", "export", "p01", "--out", str(tmp_path / "out"), "--set", str(other), "--set", str(twin)]) == EXIT_OK
    record = json.loads((tmp_path / "out" / "p01.json").read_text())
    copies = [tmp_path / "out" / r["copy"] for r in record["fine_tune_items"]]
    assert len(copies) == len(set(copies)) == len(list((tmp_path / "out" / "crops").rglob("*.png"))) == 4  # none overwritten
    assert {c.parent.parent.name for c in copies} == {"finetune_set", "finetune_set-2", "other"}
    assert main(["consent", "delete", "p01", "--yes", "--set", str(other), "--set", str(twin)]) == EXIT_OK
    assert "deleted p01: 4 crops" in capsys.readouterr().out
    assert [r["group"] for r in read_manifest(app_set)] == ["p02"] and not read_manifest(other) and not read_manifest(twin)
    assert sorted(p.name for p in app_set.rglob("*.png")) == ["p02_000.png"]


def test_a_crop_that_cannot_be_deleted_stops_consent_delete_with_a_message_and_a_rerun_finishes(home, monkeypatch, capsys):
    """An OSError (read-only folder, permission) came out of `consent delete` as a traceback."""
    ft = write_set(home / "finetune_set", {"p01": (2, 0), "p02": (1, 0)})
    assert main(["consent", "add", "p01", "--name", "Kim", "--scope", "finetune", "--date", "2026-01-01"]) == EXIT_OK
    unlink = Path.unlink

    def read_only(path, missing_ok=False):
        if path.name == "p01_001.png":
            raise PermissionError(13, "Permission denied", str(path))
        unlink(path, missing_ok=missing_ok)

    with monkeypatch.context() as patch:
        patch.setattr(Path, "unlink", read_only)
        assert main(["consent", "delete", "p01", "--yes"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "deletion of p01 stopped at" in err and "p01_001.png (Permission denied)" in err and "run it again" in err
    assert sorted(r["group"] for r in read_manifest(ft)) == ["p01", "p01", "p02"]  # rows kept: the rerun finds them
    assert main(["consent", "delete", "p01", "--yes"]) == EXIT_OK
    assert [r["group"] for r in read_manifest(ft)] == ["p02"] and sorted(p.name for p in ft.rglob("*.png")) == ["p02_000.png"]


def test_consent_names_the_crops_it_cannot_trace_to_a_face(home, tmp_path, capsys):
    """Crops of a video p01 is linked in, from a manifest that did not record raw tracks: export names
    them without copying them (they may show someone else), and says that fine-tuning uses none of them as
    p01's consent expired; delete deletes and lists them."""
    ft = write_set(home / "finetune_set", {"vid": (1, 1), "p02": (1, 1)}, consent={"vid": "public:x"})
    write_manifest(ft, [dict(r, video_sha256="ab" * 32 if r["group"] == "vid" else "") for r in read_manifest(ft)])
    add = ["consent", "add", "p01", "--name", "Kim", "--scope", "finetune", "--date", "2026-01-01", "--expires", "2026-02-01"]
    assert main(add) == EXIT_OK
    link_tracks(open_store(), "ab" * 32, [1], "p01")
    assert main(["consent", "export", "p01", "--out", str(tmp_path / "out")]) == EXIT_OK
    out = capsys.readouterr().out
    assert "2 crop(s) were cut before fine-tune manifests recorded raw tracks" in out
    assert "fine-tuning uses none of their crops, nor those that may show them: consent of p01 expired on 2026-02-01" in out
    assert not (tmp_path / "out" / "crops").exists()
    assert main(["consent", "delete", "p01", "--yes"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "deleted p01: 2 crops" in out and "2 of those crops were cut before fine-tune manifests recorded raw tracks" in out
    assert str(ft / "smile" / "vid_000.png") in out and sorted(r["group"] for r in read_manifest(ft)) == ["p02", "p02"]


def test_review_next_on_an_empty_store(capsys):
    assert main(["review-next", "-k", "5"]) == EXIT_OK
    assert "nothing to review" in capsys.readouterr().out


def test_finetune_without_replay_data_is_refused(tmp_path, capsys):
    write_set(tmp_path / "set", {"p01": (1, 1), "p02": (1, 1)})
    assert main(["finetune", str(tmp_path / "set"), "--out", str(tmp_path / "m")]) == EXIT_USAGE
    assert "--no-replay" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_review_next_ranks_against_the_threshold_segments_are_cut_at_as_the_app_does(capsys):
    """review-next said "uncertain (p=0.45, threshold 0.45)", the card's operating point of the model that
    scored the video, beside segments and the app cut at on-threshold 0.50; now one threshold, named."""
    conn = open_store()
    shipped = ModelCard.load(registry.DEFAULT_MODEL_DIR)
    assert abs(shipped.threshold - 0.5) > 0.02  # else the old and new outputs would read alike
    times = np.round(np.arange(0, 10, 0.1), 3)
    vid = store.upsert_video(conn, "c" * 64, VideoInfo("c.mp4", 640, 360, 30.0, 10.0, 300))
    analysis = store.start_analysis(conn, vid, shipped.version, {})
    rows = [(t, 0, 100, 100, 160, 160, 0.95, 0.5 + 0.45 * np.sin(t), True) for t in times]
    store.save_chunk(conn, analysis.id, times, rows, {}, 1.0)
    store.finish_analysis(conn, analysis.id, [])
    for on, off in ((0.5, 0.4), (0.7, 0.6)):
        flags = [] if on == 0.5 else ["--on-threshold", str(on), "--off-threshold", str(off)]
        assert main(["review-next", "-k", "3", *flags]) == EXIT_OK
        out = capsys.readouterr().out.splitlines()
        assert f"threshold {on:.2f})" in out[1] and f"threshold {shipped.threshold:.2f})" not in out[1]
        assert out[-1].startswith(
            f"threshold {on:.2f}: a laugh segment starts where smooth reaches it and ends where smooth falls below {off:.2f}"
        )
        app = unsure_moments(conn, None, SmoothingParams(on_threshold=on, off_threshold=off), count=3)
        assert [line.split()[2] for line in out[1:4]] == [f"{m.time_s:.2f}s" for m in app]  # the app's queue, in its order
    assert main(["review-next", "--on-threshold", "0.3", "--off-threshold", "0.4"]) == EXIT_USAGE


def test_review_next_by_intensity_lists_the_biggest_laughs_first_and_unknown_last(home, tmp_path, capsys):
    conn = open_store()
    times = np.round(np.arange(0, 10, 0.1), 3)
    for sha, name, geometry in (("a" * 64, "a.mp4", False), ("b" * 64, "b.mp4", True)):
        vid = store.upsert_video(conn, sha, VideoInfo(name, 640, 360, 30.0, 10.0, 300))
        analysis = store.start_analysis(conn, vid, "smile-test", {})
        # b: intensity rises with time (0 -> 0.99); a: analysed without face geometry (none)
        rows = [(t, 0, 100, 100, 160, 160, 0.95, 0.8, True, 0.8, None, t / 10 if geometry else None) for t in times]
        store.save_chunk(conn, analysis.id, times, rows, {}, 1.0)
        store.finish_analysis(conn, analysis.id, [])
    assert main(["review-next", "-k", "30", "--order", "intensity"]) == EXIT_OK
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[-3:] == ["laugh", "score", "why"]
    rows = [line.split() for line in out[1:-2]]  # the person column reads "person 0": two words
    assert rows[0][1:5] == ["b.mp4", "9.90s", "person", "0"] and rows[0][7] == "0.99" and "big laugh (intensity 0.99)" in out[1]
    laugh = [r[7] for r in rows]
    known = [float(v) for v in laugh if v != "-"]
    assert known == sorted(known, reverse=True) and len(known) == 10  # one pick per second of b's one face
    assert laugh[10:] == ["-"] * 10 and {r[1] for r in rows[10:]} == {"a.mp4"}  # no intensity: after every known one
    assert out[-2].startswith("laugh: laugh intensity")
    elsewhere = tmp_path / "elsewhere.sqlite"  # a store named with --store, as analyze and export take it
    assert main(["store", "backup", str(elsewhere)]) == EXIT_OK
    conn.execute("DELETE FROM analyses")
    conn.commit()
    capsys.readouterr()
    assert main(["review-next", "-k", "30", "--order", "intensity", "--store", str(elsewhere)]) == EXIT_OK
    assert capsys.readouterr().out.splitlines() == out
    with pytest.raises(SystemExit) as usage:
        main(["review-next", "--order", "loudest"])
    assert usage.value.code == EXIT_USAGE


def test_a_reader_that_goes_away_ends_the_command_quietly(home):
    """`laughvid consent list | head -0`: no BrokenPipeError traceback, exit 141 as a shell reports SIGPIPE."""
    main(["consent", "add", "p01", "--name", "Kim", "--scope", "finetune"])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from laughvid.cli import main; sys.exit(main())", "consent", "list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    proc.stdout.close()  # before the command writes anything
    assert proc.wait(timeout=120) == EXIT_PIPE_CLOSED
    assert proc.stderr.read().decode() == ""
    proc.stderr.close()


def test_finetune_trains_on_the_threads_asked_for(tmp_path, monkeypatch):
    """`--threads 1` reaches training (shared machines), as `laughvid train --threads` does."""
    pytest.importorskip("torch", reason="fine-tuning needs the train extra (torch)")
    from laughvid.training import finetune as finetune_module

    seen = {}

    def stop(*args, config, **kwargs):
        seen["threads"] = config.threads
        raise ValueError("stopped by the test")

    monkeypatch.setattr(finetune_module, "finetune", stop)
    write_set(tmp_path / "set", {"p01": (1, 1)})
    assert main(["finetune", str(tmp_path / "set"), "--out", str(tmp_path / "m"), "--no-replay", "--threads", "1"]) == EXIT_USAGE
    assert seen == {"threads": 1}


def test_models_list_compares_every_model_on_one_evaluation_set(capsys):
    """The column holds each model's figures on the set most of them share (of those the largest: here the
    public test set), not each one's first: the fine-tune's own 30 held-out faces read F1 1.000 beside the parent's 0.869."""
    conn = open_store()
    held_out = {"n": 30, "f1": 1.0, "roc_auc": 1.0}
    parent = {
        "validation": {"n": 5582, "f1": 0.869, "roc_auc": 0.974},
        "frozen_validation": held_out,
        "fer2013_test": {"n": 3569, "f1": 0.888, "roc_auc": 0.976},
    }
    child = {"frozen_validation": held_out, "fer2013_test": {"n": 3569, "f1": 0.876, "roc_auc": 0.976}}
    registry.register(conn, registry.ModelRecord("smile-v1", "/m/v1", metrics=parent))
    registry.register(conn, registry.ModelRecord("smile-ft", "/m/ft", parent="smile-v1", metrics=child))
    registry.register(conn, registry.ModelRecord("smile-x", "/m/x"))  # no figures
    assert main(["models", "list"]) == EXIT_OK
    header, *rows = capsys.readouterr().out.splitlines()
    assert "F1/AUC on fer2013_test" in header
    shown = {row.split()[1] if row.startswith("*") else row.split()[0]: row.split()[-1] for row in rows[:3]}
    assert shown == {"smile-v1": "0.888/0.976", "smile-ft": "0.876/0.976", "smile-x": "-"}
