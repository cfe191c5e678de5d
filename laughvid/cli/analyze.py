"""Analyse videos into DIR/<video stem>/timeline.csv, segments.csv and analysis.json.

Each PATH is a video file or a folder: a folder gives its files that match --include (default: the
video types the app accepts), and with --recursive those of its sub-folders too. A file named twice
is analysed once, and so is a content found under several names. The last line on stderr sums
up: N analysed, M cached, K failed.

A library is analysed by --workers processes (default one per core; --workers 0 = in this process)
or on a Ray cluster (--engine ray, with the optional extra laughvid[ray]). Whatever the engine, this
process alone writes the store and the output folders, and the results are the same. A video
already analysed with the same model and parameters is skipped without decoding, wherever it lies
now (found by its content). Workers keep their progress in per-video files beside the store
(laughvid-work/): a run that is interrupted or killed resumes where each video stopped.

A bad file among many is reported and skipped. Exit codes: 0 all analysed; 1 some failed (each
named on stderr, the others still written); 2 bad arguments or no usable model; 130 interrupted
(finished parts are kept: run the same command again to resume). The store must be on a local
disk, not a network file system. Results are cached in the store,
so re-running with other smoothing flags does not decode again.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import fields
from pathlib import Path

from tqdm import tqdm

from laughvid.cli import EXIT_FAILURES, EXIT_OK, EXIT_USAGE, add_command, add_store_arg, hms
from laughvid.engine.library_run import ENGINES, EngineSpec, LibraryProgress, VideoOutcome, analyze_library
from laughvid.export.results import write_outputs
from laughvid.pipeline.analyze import AnalysisParams
from laughvid.pipeline.decode import BACKENDS
from laughvid.pipeline.inputs import DEFAULT_INCLUDE, parse_include, video_files
from laughvid.pipeline.segments import DECODE_MODES, SmoothingParams
from laughvid.store import open_store

EXIT_INTERRUPTED = 130  # the shell's convention for Ctrl-C

_SMOOTHING_HELP = {
    "median_s": "median filter width in seconds (0 = off)",
    "on_threshold": "a segment starts when the smoothed probability reaches this",
    "off_threshold": "a segment ends when it falls below this",
    "min_duration_s": "drop segments shorter than this (seconds)",
    "merge_gap_s": "merge segments closer than this (seconds)",
    "fill_gap_s": "bridge no-face gaps up to this long (seconds)",
    "hmm": "decode with a two-state HMM (Viterbi) instead of hysteresis",
    "hmm_switch_prob": "HMM per-frame switch probability (lower = fewer, longer segments)",
    "decode": "per_person: decide on each person's scores, then combine; whole_video: on the max over faces",
    "extend_onset": "start a segment where the probability rose above the off threshold, not where it reached the on threshold",
    "merge_ratio": "also merge gaps shorter than this times the shorter neighbouring segment (0 = off)",
    "score_window_s": "average each person's laugh probability over a centred window this long, in seconds, before "
    "everything else; timeline.csv's laugh_prob is that average, analysis.json keeps each face's own (0 = off)",
}


def register(subparsers) -> None:
    p = add_command(subparsers, "analyze", "find laugh segments in videos", __doc__)
    p.add_argument("paths", nargs="+", metavar="PATH", type=Path, help="video files and/or folders of videos")
    p.add_argument("--recursive", action="store_true", help="also take the videos in the folders' sub-folders")
    p.add_argument(
        "--include",
        default=",".join(DEFAULT_INCLUDE),
        metavar="GLOBS",
        help="comma-separated file-name globs a folder's files must match, case-insensitive (default: %(default)s)",
    )
    p.add_argument("--out", required=True, type=Path, help="output folder; one sub-folder per video")
    p.add_argument("--model", type=Path, help="smile model directory (default: the active model)")
    add_store_arg(p)
    defaults = AnalysisParams()
    p.add_argument("--fps", type=float, default=defaults.fps, help=f"analysed frames per second (default {defaults.fps})")
    p.add_argument(
        "--detect-every",
        type=int,
        default=defaults.detect_every,
        help=f"detect faces on every n-th analysed frame (default {defaults.detect_every})",
    )
    p.add_argument("--backend", choices=BACKENDS, default=defaults.backend, help="video decoder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    engine = p.add_argument_group("engine (where the videos are analysed; results are the same)")
    engine.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="worker processes (local) or actors (ray), each with one decode and one inference thread; "
        "default one per core; 0 = in this process, one video at a time",
    )
    engine.add_argument("--engine", choices=ENGINES, default="local", help="local: this machine; ray: a Ray cluster (laughvid[ray])")
    engine.add_argument(
        "--ray-address", metavar="ADDR", help="join this Ray cluster ('auto': the one running here); default: start a local one"
    )
    add_smoothing_args(p)
    p.set_defaults(func=run)


def add_smoothing_args(parser: argparse.ArgumentParser) -> None:
    """One flag per SmoothingParams field (shared with scripts/eval_videos.py)."""
    group = parser.add_argument_group("smoothing (recomputed from the cache, no re-decoding)")
    for f in fields(SmoothingParams):
        flag = "--" + f.name.replace("_", "-")
        if isinstance(f.default, bool):
            group.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default, help=_SMOOTHING_HELP[f.name])
        elif f.name == "decode":
            group.add_argument(flag, choices=DECODE_MODES, default=f.default, help=f"{_SMOOTHING_HELP[f.name]} (default {f.default})")
        else:
            group.add_argument(flag, type=float, default=f.default, help=f"{_SMOOTHING_HELP[f.name]} (default {f.default})")


def smoothing_from_args(args: argparse.Namespace) -> SmoothingParams:
    """Raises ValueError for inconsistent values (e.g. off above on)."""
    return SmoothingParams(**{f.name: getattr(args, f.name) for f in fields(SmoothingParams)})


def _output_dirs(videos: list[Path], out: Path) -> list[Path]:
    """DIR/<stem>, with -2, -3... when two inputs share a stem."""
    seen: dict[str, int] = {}
    dirs = []
    for v in videos:
        seen[v.stem] = seen.get(v.stem, 0) + 1
        dirs.append(out / (v.stem if seen[v.stem] == 1 else f"{v.stem}-{seen[v.stem]}"))
    return dirs


def run(args: argparse.Namespace) -> int:
    try:
        smoothing = smoothing_from_args(args)
        params = AnalysisParams(fps=args.fps, detect_every=args.detect_every, backend=args.backend)
        spec = EngineSpec(args.engine, args.workers, args.ray_address)
    except ValueError as exc:
        print(f"laughvid analyze: error: {exc}", file=sys.stderr)
        return EXIT_USAGE

    def say_empty(folder: Path) -> None:
        where = "or its sub-folders " if args.recursive else ""
        print(f"laughvid analyze: {folder}: no file {where}matches {args.include}", file=sys.stderr)

    videos = video_files(args.paths, args.recursive, parse_include(args.include), say_empty)  # InputError: exit 2
    if not videos:
        print("laughvid analyze: error: no video files to analyse", file=sys.stderr)
        return EXIT_USAGE
    conn = open_store(args.store)
    try:
        from laughvid.lifecycle.registry import load_classifier, resolve_model_dir

        model_dir = resolve_model_dir(args.model, conn)  # the active model of --store, not of the default store
        classifier = load_classifier(model_dir, conn)
    except (FileNotFoundError, ValueError) as exc:
        print(f"laughvid analyze: error: cannot load the smile model: {exc}", file=sys.stderr)
        return EXIT_USAGE
    out_dirs = dict(zip(videos, _output_dirs(videos, args.out), strict=True))
    counts = Counter()
    bar = _LibraryBar(args.quiet)
    outcomes = analyze_library(conn, videos, classifier, model_dir, params, smoothing, spec=spec, progress=bar.update)
    try:
        for outcome in outcomes:
            counts[_report(outcome, out_dirs[outcome.path], bar)] += 1
    except KeyboardInterrupt:
        bar.close()
        print(
            "laughvid analyze: interrupted; finished videos are saved, and each unfinished one keeps its analysed part: "
            "run the same command to resume",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    bar.close()
    print(f"laughvid analyze: {counts['analysed']} analysed, {counts['cached']} cached, {counts['failed']} failed", file=sys.stderr)
    return EXIT_FAILURES if counts["failed"] else EXIT_OK


def _report(outcome: VideoOutcome, out_dir: Path, bar: _LibraryBar) -> str:
    """Write one file's results and say what became of it; returns its status for the summary."""
    video, result = outcome.path, outcome.result
    if outcome.error:
        bar.write(f"laughvid analyze: error: {outcome.error}")
        return "failed"
    try:
        write_outputs(result, out_dir)
    except OSError as exc:  # full disk, no permission: write_outputs left the previous files whole
        bar.write(
            f"laughvid analyze: error: {video}: cannot write its results to {out_dir} ({exc.strerror or exc}); the files "
            "already there are unchanged and the analysis is kept in the store: free some space or choose another --out, "
            "then run the same command again (it will not analyse again)"
        )
        return "failed"
    for warning in result.record.warnings:
        bar.write(f"laughvid analyze: warning: {video}: {warning}")
    note = " (cached)" if outcome.status == "cached" else ""
    if outcome.same_as:
        note = f" (same content as {outcome.same_as}: analysed once)"
    elif outcome.resumed_from_s:
        note = f" (resumed at {outcome.resumed_from_s:.1f} s)"
    bar.write(f"{video}: {len(result.segments)} laugh segment(s), {len(result.tracks)} person(s){note} -> {out_dir}", sys.stdout)
    return outcome.status


class StderrBar:
    """Progress on stderr that the lines printed through `write` do not break; `quiet` shows nothing.

    On a terminal, a tqdm bar. Anywhere else (a log file, `nohup`, cron, CI) a redrawn bar would fill
    the log with carriage returns and one copy of the bar per redraw, so progress is a plain line each
    time it crosses another tenth ("progress 30 %: ..."), ending at 100 %.
    """

    bar_format = "{percentage:3.0f}%|{bar:20}| [{elapsed}<{remaining}] {desc}"

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: tqdm | None = None
        self.drawn = sys.stderr.isatty()
        self._tenths, self._doing = -1, ""  # last tenth and activity printed as a plain line
        self._started = time.monotonic()

    def write(self, line: str, file=None) -> None:
        if self.bar is not None:
            self.bar.clear()
        print(line, file=file or sys.stderr, flush=True)
        if self.bar is not None:
            self.bar.refresh()

    def show(self, n: float, total: float, desc: str, postfix: str = "") -> None:
        """Progress is `n` of `total`, doing `desc` (`postfix`: a detail after the bar)."""
        if self.quiet:
            return
        if not self.drawn:
            fraction = self.plain_fraction(n, total)
            doing = ", ".join(p for p in (desc, postfix) if p)
            if int(10 * fraction) > self._tenths or (fraction == 1.0 and doing != self._doing):  # the last step's own line too
                self._tenths, self._doing = int(10 * fraction), doing
                print(f"progress {_progress_words(fraction, time.monotonic() - self._started)}: {doing}", file=sys.stderr, flush=True)
            return
        if self.bar is None:
            self.bar = tqdm(total=total, file=sys.stderr, bar_format=self.bar_format)
        self.bar.n = n
        self.bar.set_description_str(desc, refresh=False)
        self.bar.set_postfix_str(postfix, refresh=True)

    def plain_fraction(self, n: float, total: float) -> float:
        """How far along a plain line says the work is (not capped: a count past the total must show, as on the bar)."""
        return n / total if total > 0 else 1.0

    def close(self) -> None:
        self._tenths, self._doing, self._started = -1, "", time.monotonic()
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _progress_words(fraction: float, elapsed_s: float) -> str:
    """The plain-line form of a bar's percentage and time left: "42 % after 0:01:05, about 0:01:30 left"."""
    words = f"{100 * fraction:.0f} % after {hms(elapsed_s)}"
    if 0 < fraction < 1:
        words += f", about {hms(elapsed_s * (1 - fraction) / fraction)} left"
    return words


class _LibraryBar(StderrBar):
    """One bar for the whole run: video hours analysed of those to analyse (so the ETA means something),
    files done of all, and the file(s) being analysed now."""

    bar_format = "{desc} {percentage:3.0f}%|{bar}| {n:.3f}/{total:.3f} video-h [{elapsed}<{remaining}]{postfix}"

    _files = (0, 0)  # files done, files in all: the measure when there are no video hours to analyse

    def plain_fraction(self, n: float, total: float) -> float:
        """By video hours; by files when nothing is left to analyse (all cached or unreadable), where every
        line said 100 % from the first file on."""
        done, files = self._files
        return super().plain_fraction(n, total) if total > 0 else super().plain_fraction(done, files)

    def update(self, state: LibraryProgress) -> None:
        self._files = (state.files_done, state.files_total)
        seconds = state.seconds_done + (state.current_fraction or 0.0) * state.current_seconds
        now = ", ".join(state.current[:3]) + (f" +{len(state.current) - 3}" if len(state.current) > 3 else "")
        total = round(state.seconds_total / 3600, 4)
        self.show(round(seconds / 3600, 4), total, f"{state.files_done}/{state.files_total} files", f"now: {now}" if now else "")
