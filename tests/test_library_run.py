"""Analysing a library (laughvid.engine): the same results from every engine and worker count, each
content analysed once, a bad file reported while the others finish, and runs that are killed resume.

These run the shipped smile model end to end, in worker processes (a stand-in model cannot cross
into them). The Ray test starts one local cluster for the module.
"""

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from media import astronaut_video, synthetic_video, truncated_copy

from laughvid.cli import EXIT_FAILURES, EXIT_OK, main
from laughvid.cli.analyze import EXIT_INTERRUPTED
from laughvid.config import SHIPPED_MODEL_DIR

pytestmark = pytest.mark.skipif(not (SHIPPED_MODEL_DIR / "model.onnx").is_file(), reason="needs the shipped smile model")

CLIPS = ["a", "a_copy", "b", "c"]  # a_copy: a's bytes under another name


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Three short clips, a copy of one under another name, and a truncated file."""
    d = tmp_path_factory.mktemp("library")
    astronaut_video(d / "a.mp4", seconds=3, size=(320, 180), fps=10, face_px=60, blank_spans=[(1.0, 1.8)])
    astronaut_video(d / "b.mp4", seconds=2, size=(320, 180), fps=10, face_px=50)
    synthetic_video(d / "c.mp4", seconds=1)
    shutil.copy(d / "a.mp4", d / "a_copy.mp4")
    truncated_copy(d / "b.mp4", d / "broken.mp4")
    return d


def _run(folder, tmp_path, *flags):
    return main(["analyze", str(folder), "--out", str(tmp_path / "out"), "--store", str(tmp_path / "s.sqlite"), "--quiet", *flags])


def _results(tmp_path) -> dict[str, tuple[bytes, bytes]]:
    out = tmp_path / "out"
    return {p.name: ((p / "segments.csv").read_bytes(), (p / "timeline.csv").read_bytes()) for p in sorted(out.iterdir())}


@pytest.fixture(scope="module")
def in_process(folder, tmp_path_factory):
    """The reference: one video after another in the laughvid process itself (--workers 0)."""
    tmp = tmp_path_factory.mktemp("in_process")
    assert _run(folder, tmp, "--workers", "0") == EXIT_FAILURES
    return _results(tmp)


def _check_library_run(folder, tmp_path, capsys, in_process, *flags):
    assert _run(folder, tmp_path, *flags) == EXIT_FAILURES  # the broken file
    out, err = capsys.readouterr()
    assert "broken.mp4: not a readable video" in err and err.splitlines()[-1] == "laughvid analyze: 3 analysed, 1 cached, 1 failed"
    assert f"a_copy.mp4: 1 laugh segment(s), 1 person(s) (same content as {folder / 'a.mp4'}: analysed once)" in out
    assert sorted(_results(tmp_path)) == CLIPS and _results(tmp_path) == in_process
    with sqlite3.connect(tmp_path / "s.sqlite") as conn:  # the copy is one video with one analysis
        assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT video_id) FROM analyses WHERE status = 'done'").fetchone() == (3, 3)
    assert not (tmp_path / "laughvid-work").exists()  # every work file imported and removed

    assert _run(folder, tmp_path, *flags) == EXIT_FAILURES  # a rerun decodes nothing
    assert capsys.readouterr().err.splitlines()[-1] == "laughvid analyze: 0 analysed, 4 cached, 1 failed"


def test_in_process_reference_finds_the_laugh(in_process):
    segments, timeline = in_process["a"]
    # one laugh: the 0.8 s blank between its two halves is shorter than the 1 s merge gap; 3 s at 10 fps
    assert segments.count(b"\n") == 2 and timeline.count(b"\n") == 31
    assert in_process["a_copy"] == in_process["a"]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_worker_processes_give_the_same_results(folder, tmp_path, capsys, in_process, workers):
    _check_library_run(folder, tmp_path, capsys, in_process, "--workers", workers)


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'laughvid[ray]')")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def test_the_ray_engine_gives_the_same_results(folder, tmp_path, capsys, in_process, ray_cluster):
    _check_library_run(folder, tmp_path, capsys, in_process, "--engine", "ray")


def test_a_moved_video_is_not_analysed_again(folder, tmp_path, capsys):
    moved = tmp_path / "moved"
    moved.mkdir()
    shutil.copy(folder / "b.mp4", moved / "renamed.mp4")
    assert main(["analyze", str(folder / "b.mp4"), "--out", str(tmp_path / "o1"), "--store", str(tmp_path / "s.sqlite"), "--quiet"]) == 0
    assert main(["analyze", str(moved), "--out", str(tmp_path / "o2"), "--store", str(tmp_path / "s.sqlite"), "--quiet"]) == 0
    assert capsys.readouterr().err.splitlines()[-1] == "laughvid analyze: 0 analysed, 1 cached, 0 failed"


# Killed runs: a subprocess as a user runs it, on clips long enough to stop part-way.


@pytest.fixture(scope="module")
def long_folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("long")
    for name, px in (("long1", 60), ("long2", 50)):
        astronaut_video(d / f"{name}.mp4", seconds=24, size=(320, 180), fps=10, face_px=px, blank_spans=[(8.0, 12.0)])
    return d


@pytest.fixture(scope="module")
def long_reference(long_folder, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("long_reference")
    assert _run(long_folder, tmp, "--workers", "0") == EXIT_OK
    return _results(tmp)


def _start(folder, tmp_path) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-c",
        "import sys; from laughvid.cli import main; sys.exit(main())",
        "analyze",
        str(folder),
        "--out",
        str(tmp_path / "out"),
    ]
    cmd += ["--store", str(tmp_path / "s.sqlite"), "--quiet", "--workers", "2"]
    # Ctrl-C as a terminal gives it: a disposition "ignore" inherited from whatever started pytest (a
    # background job, a CI runner) would survive exec, and Python then never raises KeyboardInterrupt.
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)
    )


def _committed_chunks(work_dir: Path) -> int:
    total = 0
    for f in work_dir.glob("*.sqlite") if work_dir.exists() else ():
        try:
            with sqlite3.connect(f"file:{f}?mode=ro", uri=True, timeout=0.1) as conn:
                total += conn.execute("SELECT COUNT(*) FROM frames").fetchone()[0] // 30
        except sqlite3.Error:
            pass  # not created yet
    return total


def _workers_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and b"spawn_main" in (stat.parent / "cmdline").read_bytes():
                found.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            pass
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"


def _wait_for(condition, timeout_s=60.0):
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds worker processes through /proc (Linux)")
@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["parent-killed", "ctrl-c"])
def test_a_stopped_run_leaves_no_worker_and_resumes(long_folder, long_reference, tmp_path, stop):
    proc = _start(long_folder, tmp_path)
    _wait_for(lambda: _committed_chunks(tmp_path / "laughvid-work") >= 2)
    workers = _workers_of(proc.pid)
    assert workers
    proc.send_signal(stop)
    _, err = proc.communicate(timeout=30)
    if stop == signal.SIGINT:
        assert proc.returncode == EXIT_INTERRUPTED and "interrupted; finished videos are saved" in err and "Traceback" not in err
    _wait_for(lambda: not any(_alive(w) for w in workers), timeout_s=10)  # no worker goes on writing
    kept = _committed_chunks(tmp_path / "laughvid-work")
    assert kept >= 2

    rerun = _start(long_folder, tmp_path)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == EXIT_OK, err
    assert "(resumed at " in out
    assert _results(tmp_path) == long_reference


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds worker processes through /proc (Linux)")
def test_a_killed_worker_does_not_stop_the_run(long_folder, long_reference, tmp_path):
    proc = _start(long_folder, tmp_path)
    _wait_for(lambda: _committed_chunks(tmp_path / "laughvid-work") >= 2)
    os.kill(_workers_of(proc.pid)[0], signal.SIGKILL)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == EXIT_OK, err
    assert "(resumed at " in out  # its video went to a new worker, which went on from the committed chunks
    assert _results(tmp_path) == long_reference


def test_the_progress_bar_never_passes_100_percent(folder, tmp_path, capsys):
    """A finished video was counted twice (done, and still 'current' at 100 %): the bar read 200 %."""
    main(["analyze", str(folder), "--out", str(tmp_path / "out"), "--store", str(tmp_path / "s.sqlite"), "--workers", "0"])
    percents = [int(p) for p in re.findall(r"^progress (\d+) %", capsys.readouterr().err, re.MULTILINE)]  # stderr is no terminal here
    assert percents and max(percents) == 100
