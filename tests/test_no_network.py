"""Nothing leaves the machine (issue 10, rows 2 and 7).

A real `laughvid analyze` longer than 15 s and the review server (`streamlit run streamlit_app.py`,
page loaded and the app script run over its websocket, as a browser does) run under
`strace -f -e trace=connect,...`; any contact with an address that is not loopback fails, DNS
included. onnxruntime 1.32.0 resolved its telemetry host ~9.5 s after loading, so shorter runs
would prove nothing. The same server, started without an address flag, must listen on 127.0.0.1
only: it has no authentication.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from laughvid.config import SHIPPED_MODEL_DIR
from tests.app_server import serving
from tests.media import astronaut_video, run_ffmpeg

pytestmark = pytest.mark.slow

STRACE = shutil.which("strace")
MIN_RUN_S = 15.0
# Every call that names a peer address: connect (TCP, and UDP as glibc's resolver uses it) and the
# send calls that can carry an address themselves.
TRACED = "trace=connect,sendto,sendmsg,sendmmsg"
_PEER = re.compile(r'sa_family=AF_INET6?, sin6?_port=htons\((\d+)\).*?(?:inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)")')
DNS_PORT = 53  # a local resolver (systemd-resolved's 127.0.0.53, dnsmasq) forwards the question out


def _env(home: Path) -> dict[str, str]:
    """A fresh HOME and LAUGHVID_HOME; no ORT_DISABLE_TELEMETRY from outside, laughvid must set it."""
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, HOME=str(home), LAUGHVID_HOME=str(home / "laughvid"))
    for inherited in ("LAUGHVID_STORE", "ORT_DISABLE_TELEMETRY"):
        env.pop(inherited, None)
    return env


def _strace_unusable() -> str | None:
    """Why strace cannot trace here (missing, or ptrace not allowed in this container), else None."""
    if STRACE is None:
        return "needs strace (`make test` installs it when run as root: apt-get install strace)"
    probe = subprocess.run(_traced(["true"], Path(os.devnull)), capture_output=True, text=True)
    return None if probe.returncode == 0 else f"strace cannot trace here: {probe.stderr.strip()[-300:]}"


def _traced(cmd: list[str], trace: Path) -> list[str]:
    """`cmd` under strace, following threads and children."""
    assert STRACE is not None
    return [STRACE, "-f", "-qq", "-e", TRACED, "-e", "signal=none", "-o", str(trace), *cmd]


def _remote_contacts(trace: Path) -> list[str]:
    """The traced calls that reached off this machine: to a non-loopback address, or DNS to any.

    AF_UNIX (nscd, journald) and loopback are local."""
    remote = []
    for line in trace.read_text(errors="replace").splitlines():
        match = _PEER.search(line)
        if match:
            port, addr = int(match.group(1)), ipaddress.ip_address(match.group(2) or match.group(3))
            mapped = getattr(addr, "ipv4_mapped", None)
            if port == DNS_PORT or not (addr.is_loopback or (mapped is not None and mapped.is_loopback)):
                remote.append(line.strip())
    return remote


def _listening_addresses(port: int) -> set[str]:
    """Local addresses of the TCP sockets listening on `port` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        path = Path("/proc/net") / table
        if not path.exists():
            continue
        for row in path.read_text().splitlines()[1:]:
            _, local, _, state = row.split()[:4]
            addr_hex, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:  # 0A = LISTEN
                raw = bytes.fromhex(addr_hex)  # 32-bit words in host (little-endian) order
                raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                found.add(socket.inet_ntop(family, raw))
    return found


def _run_app_script(url: str) -> None:
    """Open a session over the websocket the page uses and run the app once, as a browser would."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ClientState_pb2 import ClientState
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.sync.client import connect

    with connect(url.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit"], max_size=None) as ws:
        ws.send(BackMsg(rerun_script=ClientState()).SerializeToString())
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            msg = ForwardMsg()
            msg.ParseFromString(ws.recv(timeout=deadline - time.monotonic()))
            if msg.WhichOneof("type") == "script_finished":
                assert msg.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY
                return
        pytest.fail("the app script did not finish within 120 s")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`streamlit run streamlit_app.py` exactly as documented (no address flag), under strace when it works.

    Yields (url, port, strace output or None, the server's HOME).
    """
    if not (SHIPPED_MODEL_DIR / "model.onnx").is_file():
        pytest.skip(f"needs the smile model in {SHIPPED_MODEL_DIR}")
    home = tmp_path_factory.mktemp("server_home")
    trace = home / "strace.txt" if _strace_unusable() is None else None
    wrap = (lambda cmd: _traced(cmd, trace)) if trace else None
    with serving("streamlit_app.py", home / "streamlit.log", _env(home), extra_args=(), wrap=wrap) as (url, port):
        yield url, port, trace, home


def test_review_server_listens_on_loopback_only(server):
    url, port, _, _ = server
    with urllib.request.urlopen(url + "/", timeout=10) as page:
        assert page.status == 200
    listening = _listening_addresses(port)
    if not listening:
        pytest.skip("no /proc/net/tcp to read listening sockets from")
    assert listening == {"127.0.0.1"}, f"the review server (no authentication) listens on {sorted(listening)}"


def test_analysis_and_review_server_contact_no_one(server, tmp_path):
    url, _, server_trace, server_home = server
    if server_trace is None:
        pytest.skip(_strace_unusable())
    urllib.request.urlopen(url + "/", timeout=10).close()
    _run_app_script(url)  # loads the model (onnxruntime) in the server, analyses the sample video
    app_ran = time.monotonic()

    env = _env(tmp_path / "home")
    clip = astronaut_video(tmp_path / "clip.mp4", seconds=6, size=(320, 240))
    laughvid = str(Path(sys.executable).with_name("laughvid"))
    # Every frame analysed and detected so the run is long; a machine fast enough to finish it in
    # under MIN_RUN_S gets a video four times longer (looping the clip costs nothing).
    for loops in (10, 40):
        video = tmp_path / f"talk{loops}.mp4"
        run_ffmpeg("-stream_loop", str(loops - 1), "-i", clip, "-c", "copy", video)
        trace = tmp_path / f"analyze{loops}.strace"
        cmd = [laughvid, "analyze", str(video), "--out", str(tmp_path / "out"), "--quiet", "--fps", "30", "--detect-every", "1"]
        start = time.monotonic()
        proc = subprocess.run(_traced(cmd, trace), env=env, capture_output=True, text=True, timeout=600)
        ran = time.monotonic() - start
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert _remote_contacts(trace) == [], f"`laughvid analyze` contacted the network (strace in {trace})"
        if ran >= MIN_RUN_S:
            break
    else:
        pytest.fail(f"`laughvid analyze` finished in {ran:.1f} s, too short to show a delayed contact")
    assert not (tmp_path / "home" / ".cache" / "Microsoft").exists(), "onnxruntime kept a telemetry queue"

    time.sleep(max(0.0, MIN_RUN_S - (time.monotonic() - app_ran)))
    assert _remote_contacts(server_trace) == [], f"the review server contacted the network (strace in {server_trace})"
    assert not (server_home / ".cache" / "Microsoft").exists(), "onnxruntime kept a telemetry queue"
