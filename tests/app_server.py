"""One way tests start the review app with `streamlit run`: a free port, wait for health, stop the
whole process group (a wrapper such as strace ignores SIGTERM itself), keep the log for failures."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(
    script: str | Path,
    log_path: Path,
    env: dict[str, str] | None = None,
    extra_args: tuple[str, ...] = ("--server.address", "127.0.0.1"),
    wrap: Callable[[list[str]], list[str]] | None = None,
) -> Iterator[tuple[str, int]]:
    """Serve `script` until the block ends; yields (url, port). `extra_args=()` starts it exactly as
    documented (address from .streamlit/config.toml); `wrap` prefixes the command (e.g. strace)."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        *extra_args,
    ]
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(wrap(cmd) if wrap else cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            for _ in range(120):
                try:
                    urllib.request.urlopen(url + "/_stcore/health", timeout=1)
                    break
                except OSError:
                    if proc.poll() is not None:
                        pytest.fail(f"streamlit exited: {log_path.read_text(errors='replace')[-2000:]}")
                    time.sleep(0.5)
            yield url, port
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
