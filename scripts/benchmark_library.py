"""Throughput of `laughvid analyze` on a generated library, per engine and worker count; prints figures, asserts nothing.

    python scripts/benchmark_library.py [--clips 56] [--rounds 1] [--no-ray]

Generates a library of short clips with a real face (tests/media.py: the astronaut moving across
the frame, 5-15 s, 640x360 and 960x540 at 30 fps; written once under /tmp) and analyses all of
it from scratch (a fresh store each time) with every configuration, each as the user runs it (a
`laughvid analyze` subprocess, so worker start-up and model loading count):
  - in this process (--workers 0): the single-process figure, decoding threaded over every core,
  - --workers 1 .. cores: worker processes with one decode and one inference thread each,
  - --engine ray: a local Ray cluster started by the run (its start-up counts), one actor per core.
For each: wall time, videos per hour, video-hours per hour, video-hours per hour per core, and the
peak resident memory (RSS) of the parent and of each worker or actor, sampled from /proc.
With --rounds 2 the configurations run twice in reversed order (other load on the machine evens out).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # generated-media helpers

from media import astronaut_video  # noqa: E402

from laughvid.engine.local import default_workers  # noqa: E402
from laughvid.pipeline.decode import probe  # noqa: E402

WORK = Path(tempfile.gettempdir()) / "laughvid-bench-library"


def make_library(n: int) -> list[Path]:
    """n clips, 5-15 s, mostly 640x360, every fourth 960x540; faces of several sizes; some with the face gone for a while."""
    folder = WORK / f"clips{n}"
    folder.mkdir(parents=True, exist_ok=True)
    clips = []
    for i in range(n):
        path = folder / f"clip{i:03d}.mp4"
        if not path.exists():
            size = (960, 540) if i % 4 == 3 else (640, 360)
            seconds = 5 + (i * 7) % 11
            blanks = [(seconds / 3, seconds / 2)] if i % 3 == 0 else []
            astronaut_video(
                path.with_suffix(".tmp.mp4"), seconds=seconds, size=size, fps=30, face_px=60 + (i * 13) % 80, blank_spans=blanks
            )
            path.with_suffix(".tmp.mp4").rename(path)
        clips.append(path)
    return clips


@dataclass
class Peaks:
    """Peak RSS (MB) per process seen while a run lasts."""

    parent: float = 0.0
    workers: dict[int, float] = field(default_factory=dict)


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _worker_pids(parent: int) -> list[int]:
    """The parent's spawned worker processes, and Ray actors (which are not its children)."""
    found = []
    for d in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (d / "cmdline").read_bytes()
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if (ppid == parent and b"spawn_main" in cmdline) or cmdline.startswith(b"ray::_Actor"):
            found.append(int(d.name))
    return found


def _sample(pid: int, peaks: Peaks, stop: threading.Event) -> None:
    while not stop.is_set():
        peaks.parent = max(peaks.parent, _rss_mb(pid))
        for w in _worker_pids(pid):
            peaks.workers[w] = max(peaks.workers.get(w, 0.0), _rss_mb(w))
        stop.wait(0.25)


@dataclass
class Run:
    name: str
    wall_s: float
    cpu_s: float  # user + system of the run and every process it waited for (Ray's own processes are not among them)
    peaks: Peaks


def run(name: str, folder: Path, flags: list[str]) -> Run:
    tmp = Path(tempfile.mkdtemp(prefix="run-", dir=WORK))
    cmd = [sys.executable, "-c", "import sys; from laughvid.cli import main; sys.exit(main())", "analyze", str(folder)]
    cmd += ["--out", str(tmp / "out"), "--store", str(tmp / "s.sqlite"), "--quiet", *flags]
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "RAY_AUTH_MODE": "disabled"}
    start, cpu_start = time.perf_counter(), _children_cpu_s()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    peaks, stop = Peaks(), threading.Event()
    sampler = threading.Thread(target=_sample, args=(proc.pid, peaks, stop), daemon=True)
    sampler.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - start
    stop.set()
    sampler.join()
    summary = err.strip().splitlines()[-1] if err.strip() else ""
    if proc.returncode != 0 or " 0 failed" not in summary:
        raise SystemExit(f"{name} failed ({proc.returncode}): {err[-2000:]}")
    return Run(name, wall, _children_cpu_s() - cpu_start, peaks)


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=56)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    cores = default_workers()
    t0 = time.perf_counter()
    clips = make_library(args.clips)
    seconds = sum(probe(c).duration_s for c in clips)
    print(
        f"library: {len(clips)} clips, {seconds / 60:.1f} min of video ({seconds / 3600:.3f} h); generated in {time.perf_counter() - t0:.0f} s"
    )
    print(f"machine: {cores} cores usable, {os.cpu_count()} CPUs; python {sys.version.split()[0]}; load average {os.getloadavg()[0]:.1f}")
    configs = [("in process (--workers 0)", ["--workers", "0"], 1)]
    configs += [(f"--workers {n}", ["--workers", str(n)], n) for n in range(1, cores + 1)]
    if not args.no_ray:
        configs.append((f"--engine ray ({cores} actors, cluster start included)", ["--engine", "ray", "--workers", str(cores)], cores))
    results: dict[str, list[Run]] = {name: [] for name, _, _ in configs}
    for r in range(args.rounds):
        for name, flags, _ in configs if r % 2 == 0 else reversed(configs):
            results[name].append(run(name, clips[0].parent, flags))
            print(f"  round {r + 1}: {name}: {results[name][-1].wall_s:.1f} s", flush=True)
    print()
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (other programs on the machine slow every figure alike)")
    print(
        f"{'configuration':<48} {'wall s':>7} {'videos/h':>9} {'video-h/h':>10} {'per core':>9} {'video-h/cpu-h':>13} "
        f"{'parent MB':>10} {'worker MB':>10}"
    )
    base = None
    for name, _, used in configs:
        runs = results[name]
        wall = sorted(r.wall_s for r in runs)[len(runs) // 2]  # median over rounds
        vph, hph = len(clips) / wall * 3600, seconds / wall
        base = base or hph
        cpu = sorted(r.cpu_s for r in runs)[len(runs) // 2]
        worker_mb = max((max(r.peaks.workers.values(), default=0.0) for r in runs), default=0.0)
        parent_mb = max(r.peaks.parent for r in runs)
        print(
            f"{name:<48} {wall:>7.1f} {vph:>9.0f} {hph:>10.1f} {hph / min(used, cores):>9.1f} {(f'{seconds / cpu:.1f}' if 'ray' not in name else '-'):>13} "
            f"{parent_mb:>10.0f} "
            f"{(f'{worker_mb:.0f}' if worker_mb else '-'):>10}   ({hph / base:.2f}x in-process)"
        )
    print(
        "\n(video-h/h = hours of video analysed per wall-clock hour; per core = divided by the cores the run used;\n"
        " video-h/cpu-h = per hour of CPU time the run and its workers used, which other load on the machine changes\n"
        f" little; not for Ray, whose actors are not this run's children); total {time.perf_counter() - t0:.0f} s)"
    )


if __name__ == "__main__":
    main()
