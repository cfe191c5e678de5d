"""Opening an ONNX model for inference, one way for every model of the pipeline.

CPU only, a fixed number of intra-op threads (one by default): each analysis process runs its
models one call at a time, and `--workers N` starts one process per core, so a model that took
every core would make the workers fight over them. A missing file is refused with a message that
says what to do, before onnxruntime's own error.
"""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort


def cpu_session(path: Path, missing: str, threads: int = 1) -> ort.InferenceSession:
    """An onnxruntime session on `path`; `missing` is the message when the file is not there."""
    if not Path(path).is_file():
        raise FileNotFoundError(missing)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
