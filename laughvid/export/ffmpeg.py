"""ffmpeg in one place: which executable runs, and how a failed run is reported.

The executable is imageio-ffmpeg's bundled static build, not whatever `ffmpeg` is on PATH: pip
installs it with the package, with libx264, the same on every machine. Callers build commands with
ffmpeg-python's graph (`ffmpeg.input(...).output(...)`) and run them here, so clip export and face
blurring cannot drift apart in the binary they use or in what they show when it fails.
"""

from __future__ import annotations

import functools
import subprocess

import ffmpeg
import imageio_ffmpeg

from laughvid.errors import ExportError

# ffmpeg prints a banner and progress on stderr; a pipe nobody reads until the end must stay small.
_QUIET = ("-hide_banner", "-loglevel", "error", "-nostats")


@functools.cache
def executable() -> str:
    """Path of the bundled ffmpeg binary (looked up once, on first use, not at import)."""
    return imageio_ffmpeg.get_ffmpeg_exe()


def stderr_tail(stderr: bytes | None, lines: int = 3) -> str:
    """The last `lines` lines ffmpeg wrote to stderr, joined with " | ": where it says what went wrong."""
    return " | ".join((stderr or b"").decode(errors="replace").strip().splitlines()[-lines:])


def run(command: ffmpeg.nodes.OutputStream, what: str) -> None:
    """Run an ffmpeg command to the end, replacing its output file if there is one.

    Args:
        command: the ffmpeg-python graph to run.
        what: the file being written, as the error message names it.

    Raises:
        ExportError: ffmpeg failed; the message holds the tail of its stderr.
    """
    try:
        command.overwrite_output().run(cmd=executable(), capture_stdout=True, capture_stderr=True)
    except ffmpeg.Error as exc:
        raise ExportError(f"ffmpeg failed to write {what}: {stderr_tail(exc.stderr)}") from exc


def start(command: ffmpeg.nodes.OutputStream) -> subprocess.Popen:
    """Start an ffmpeg command that reads its input from stdin (raw frames), quiet so that its stderr
    pipe cannot fill and stall the writer; the caller closes stdin, reads stderr and waits.

    Args:
        command: the ffmpeg-python graph to run; its input is "pipe:".

    Returns:
        The running process, with stdin and stderr piped.
    """
    return command.global_args(*_QUIET).overwrite_output().run_async(cmd=executable(), pipe_stdin=True, pipe_stderr=True)
