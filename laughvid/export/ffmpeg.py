"""ffmpeg in one place: which executable runs, and how a failed run is reported.

The executable is imageio-ffmpeg's bundled static build, not whatever `ffmpeg` is on PATH: pip
installs it with the package, with libx264, the same on every machine. Callers build commands with
ffmpeg-python's graph (`ffmpeg.input(...).output(...)`) and run them here, so clip export and face
blurring cannot drift apart in the binary they use or in what they show when it fails. A run reports
ffmpeg's own progress (`-progress pipe:1`) and is killed when its cancel token is set.
"""

from __future__ import annotations

import contextlib
import functools
import os
import selectors
import subprocess
import tempfile
import threading
from collections.abc import Iterator

import ffmpeg
import imageio_ffmpeg

from laughvid.errors import ExportCancelled, ExportError
from laughvid.export.progress import OnTime

# ffmpeg prints a banner and progress on stderr; a pipe nobody reads until the end must stay small.
_QUIET = ("-hide_banner", "-loglevel", "error", "-nostats")
POLL_S = 0.1  # how often a running ffmpeg is checked for a cancel: well under the 1 s a user waits


@functools.cache
def executable() -> str:
    """Path of the bundled ffmpeg binary (looked up once, on first use, not at import)."""
    return imageio_ffmpeg.get_ffmpeg_exe()


def stderr_tail(stderr: bytes | None, lines: int = 3) -> str:
    """The last `lines` lines ffmpeg wrote to stderr, joined with " | ": where it says what went wrong."""
    return " | ".join((stderr or b"").decode(errors="replace").strip().splitlines()[-lines:])


def run(command: ffmpeg.nodes.OutputStream, what: str, on_time: OnTime | None = None, cancel: threading.Event | None = None) -> None:
    """Run an ffmpeg command to the end, replacing its output file if there is one.

    Args:
        command: the ffmpeg-python graph to run.
        what: the file being written, as the error message names it.
        on_time: called with the seconds of output written so far (ffmpeg's `-progress` `out_time`,
            about twice a second).
        cancel: when set, ffmpeg is killed within POLL_S and ExportCancelled raised; the caller's
            temp output is then incomplete (`laughvid.atomic` removes it).

    Raises:
        ExportError: ffmpeg failed; the message holds the tail of its stderr.
        ExportCancelled: `cancel` was set (or `on_time` raised it).
    """
    args = command.overwrite_output().global_args("-progress", "pipe:1", *_QUIET).compile(cmd=executable())
    with tempfile.TemporaryFile() as stderr:  # a file, not a pipe: it cannot fill while stdout is read
        process = _popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr)
        try:
            for key, value in _progress_lines(process, cancel):
                if key == "out_time_us" and on_time is not None and value.isdigit():
                    on_time(int(value) / 1e6)
            code = process.wait()
        finally:
            kill(process)
        # Second check: _progress_lines sees a cancel while ffmpeg runs, this one a cancel set after it closed stdout.
        if cancel is not None and cancel.is_set():
            raise ExportCancelled()
        if code != 0:
            stderr.seek(0)
            raise ExportError(f"ffmpeg failed to write {what}: {stderr_tail(stderr.read())}")


def _progress_lines(process: subprocess.Popen, cancel: threading.Event | None) -> Iterator[tuple[str, str]]:
    """ffmpeg's `-progress` output as (key, value) pairs until it closes stdout, checking `cancel`
    every POLL_S even when ffmpeg says nothing (a slow first frame)."""
    fd, pending = process.stdout.fileno(), b""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            if cancel is not None and cancel.is_set():
                raise ExportCancelled()
            if not selector.select(POLL_S):
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                return
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                key, _, value = line.decode(errors="replace").partition("=")
                yield key.strip(), value.strip()


def kill(process: subprocess.Popen) -> None:
    """Stop an ffmpeg process now if it still runs (a cancel, an error in the caller), close its pipes
    and reap it, so no ffmpeg outlives the export and no file handle stays open."""
    if process.poll() is None:
        process.kill()
    for pipe in (process.stdin, process.stdout, process.stderr):
        if pipe is not None:
            with contextlib.suppress(OSError):  # a pipe to a dead process: nothing left to flush
                pipe.close()
    process.wait()


def _popen(args: list[str], **pipes) -> subprocess.Popen:
    """ffmpeg in a process group of its own: a Ctrl-C in the terminal reaches laughvid only, which
    cancels and kills it, instead of ffmpeg finishing a shortened file on its own."""
    return subprocess.Popen(args, process_group=0, **pipes)


def start(command: ffmpeg.nodes.OutputStream) -> subprocess.Popen:
    """Start an ffmpeg command that reads its input from stdin (raw frames), quiet so that its stderr
    pipe cannot fill and stall the writer; the caller closes stdin, reads stderr and waits (or `kill`s).

    Args:
        command: the ffmpeg-python graph to run; its input is "pipe:".

    Returns:
        The running process, with stdin and stderr piped.
    """
    args = command.global_args(*_QUIET).overwrite_output().compile(cmd=executable())
    return _popen(args, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
