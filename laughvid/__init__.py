"""laughvid: find laughter and smiles in recorded video.

The pipeline, one package per stage, in the order data flows:

    pipeline/     decode -> faces (detect, track, crop) -> scoring (ONNX smile model)
                  -> timeline (score cache) -> segments (smoothing); analyze runs them over a video
    store/        SQLite: videos, analyses, score cache (resumable), its own schema
    review/       accept, reject, add, undo; the active-learning queue
    export/       clips and reel (ffmpeg), segment lists, crops for the fine-tune set
    governance/   consent, people and their face tracks, face blurring
    lifecycle/    model registry, model cards, fine-tune set versions, evaluation on videos
    training/     pretraining and fine-tuning (one path), ONNX export
    cli/, ui/     the `laughvid` command and the review app: thin layers over the above

The public API is below (`__all__`); everything else is importable from its stage.

    import laughvid
    result = laughvid.analyze_video("talk.mp4")          # opens the default store, the active model
    for segment in result.segments: ...
    again = laughvid.compute_segments(laughvid.open_store(), result.record.id, laughvid.SmoothingParams(on_threshold=0.8))

`import laughvid` stays cheap (no onnxruntime, cv2 or torch): the names are loaded on first use.
"""

import importlib
import os

from laughvid.errors import LaughvidError

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

# Public name -> the module that defines it; imported on first access (PEP 562), so that a CLI
# `--help`, a script that only reads the store, or the app's first paint does not load onnxruntime.
_LAZY = {
    "analyze_video": "laughvid.pipeline.analyze",
    "load_result": "laughvid.pipeline.analyze",
    "compute_segments": "laughvid.pipeline.analyze",
    "AnalysisParams": "laughvid.pipeline.analyze",
    "SmoothingParams": "laughvid.pipeline.segments",
    "SmileClassifier": "laughvid.pipeline.scoring",
    "load_classifier": "laughvid.lifecycle.registry",
    "open_store": "laughvid.store",
}

__all__ = ["LaughvidError", *_LAZY]


def __getattr__(name: str) -> object:
    if name not in _LAZY:  # also how `from laughvid import store` finds the sub-package
        raise AttributeError(f"module 'laughvid' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
