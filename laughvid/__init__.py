"""laughvid: find laughter and smiles in recorded video.

Pipeline (one module, one job):
    decode -> faces (detect, track, crop) -> classifier (ONNX) -> timeline (score cache)
    -> segments (smoothing) -> store (SQLite) -> export (clips, lists, fine-tune set)
The CLI (`laughvid.cli`) and the Streamlit app (`streamlit_app.py`) are thin layers over these.
"""

import os

__version__ = "0.1.0"

# Nothing leaves the machine. The pinned onnxruntime 1.32.0 wheel has Microsoft's 1DS telemetry
# switched on for Linux: ~9.5 s after it is imported, a thread of onnxruntime_pybind11_state.so
# resolves mobile.events.data.microsoft.com (DNS on port 53, retried every 6-9 s; where it resolves,
# the queued events go out over HTTPS) and it keeps an event queue and a device id in
# ~/.cache/Microsoft/DeveloperTools/.onnxruntime. Found with `strace -f -k -e trace=connect`
# (getaddrinfo called from that .so) and the query name in `strace -e trace=sendto -s 200`.
# `ort.disable_telemetry_events()` only drops "non-essential" events: the uploader keeps going.
# The switch onnxruntime documents (its Privacy.md) is ORT_DISABLE_TELEMETRY=1, read once, when
# onnxruntime is imported, so it is set here, in the package every entry point (CLI, review app,
# scripts) imports before onnxruntime. Measured: a 20 s session loop makes 4 DNS connects without
# it, also after disable_telemetry_events() or with the variable set after the import, and 0 with
# it set before; tests/test_no_network.py checks analysis and the review server under strace.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"
