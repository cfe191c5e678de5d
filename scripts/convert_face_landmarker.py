"""Rebuild models/face_landmarker/*.onnx from MediaPipe's FaceLandmarker bundle (Apache-2.0).

`face_landmarker.task` is a zip (see ../shared/models/face_landmarker/README.md for its provenance).
Two of its models are converted: `face_landmarks_detector.tflite` (Face Mesh V2: a 256x256 RGB face
crop in 0..1 -> 478 landmarks in crop pixels + a face-presence logit) and `face_blendshapes.tflite`
(146 of those landmarks, x/y -> 52 blendshape scores). Converted with tf2onnx (tflite2onnx 0.4.1
fails on the float16 weights of both). ONNX Runtime runs PRelu ~4x slower than the convolutions
around it, so each PRelu is rewritten as relu(x) + slope * min(x, 0) (same numbers, ~30 % faster).
The script then checks ONNX Runtime against the TFLite interpreter on the astronaut photo
(public domain, scikit-image) and prints the largest differences.

Run once, in a throwaway venv (none of these is a laughvid dependency):

    python3.11 -m venv /tmp/cvt && /tmp/cvt/bin/pip install tensorflow-cpu==2.21.0 tf2onnx==1.17.0 \
        onnx==1.23.2 onnxruntime==1.32.0 ai-edge-litert==2.3.0 opencv-python-headless==4.14.0.94 scikit-image==0.26.0
    /tmp/cvt/bin/python scripts/convert_face_landmarker.py ../shared/models/face_landmarker/face_landmarker.task
"""

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "models" / "face_landmarker"
MODELS = ("face_landmarks_detector", "face_blendshapes")
OPSET = 17


def rewrite_prelu(model: onnx.ModelProto) -> onnx.ModelProto:
    """PRelu(x, s) -> Relu(x) + s * Min(x, 0): ONNX Runtime's PRelu is slow and breaks its NCHWc layout."""
    graph = model.graph
    if not any(node.op_type == "PRelu" for node in graph.node):
        return model
    graph.initializer.append(numpy_helper.from_array(np.zeros((), np.float32), "prelu_zero"))
    nodes = []
    for node in graph.node:
        if node.op_type != "PRelu":
            nodes.append(node)
            continue
        x, slope = node.input
        y = node.output[0]
        nodes += [
            helper.make_node("Relu", [x], [y + "/pos"]),
            helper.make_node("Min", [x, "prelu_zero"], [y + "/neg"]),
            helper.make_node("Mul", [y + "/neg", slope], [y + "/neg_scaled"]),
            helper.make_node("Add", [y + "/pos", y + "/neg_scaled"], [y]),
        ]
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    return model


def astronaut_crop() -> np.ndarray:
    """The astronaut's face framed as laughvid frames faces for the landmark model (1.5 x the detector box)."""
    import cv2
    from skimage import data

    x0, y0, x1, y1 = 173, 68, 280, 174  # tests/media.py ASTRONAUT_FACE_BOX
    cx, cy, side = (x0 + x1) / 2, (y0 + y1) / 2, 1.5 * max(x1 - x0, y1 - y0)
    k = 256 / side
    matrix = np.array([[k, 0, 128 - cx * k], [0, k, 128 - cy * k]])
    return cv2.warpAffine(data.astronaut(), matrix, (256, 256), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def check(tflite_dir: Path) -> None:
    import onnxruntime as ort
    from ai_edge_litert.interpreter import Interpreter

    sys.path.insert(0, str(REPO))
    from laughvid.pipeline.faces.landmarks import BLENDSHAPE_NAMES, BLENDSHAPE_SUBSET

    def both(name: str, x: np.ndarray) -> tuple[list, list]:
        it = Interpreter(model_path=str(tflite_dir / f"{name}.tflite"))
        it.allocate_tensors()
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
        ref = [it.get_tensor(d["index"]) for d in it.get_output_details()]
        session = ort.InferenceSession(str(OUT / f"{name}.onnx"), providers=["CPUExecutionProvider"])
        return ref, session.run(None, {session.get_inputs()[0].name: x})

    x = (astronaut_crop().astype(np.float32) / 255.0)[None]
    ref, out = both("face_landmarks_detector", x)
    print(
        f"landmarks: max |TFLite - ONNX| = {np.abs(ref[0] - out[0]).max():.2e} px (of 256), face logit {ref[1].item():.3f} vs {out[1].item():.3f}"
    )
    points = ref[0].reshape(-1, 3)[list(BLENDSHAPE_SUBSET), :2].astype(np.float32)[None]
    ref, out = both("face_blendshapes", points)
    smile = BLENDSHAPE_NAMES.index("mouthSmileLeft")
    print(f"blendshapes: max |TFLite - ONNX| = {np.abs(ref[0] - out[0]).max():.2e}; astronaut mouthSmileLeft {out[0].ravel()[smile]:.3f}")


def main(bundle: str) -> None:
    bundle_path = Path(bundle)
    print(f"{bundle_path}: sha256 {hashlib.sha256(bundle_path.read_bytes()).hexdigest()}")
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_dir = Path(tmp)
        with zipfile.ZipFile(bundle_path) as archive:
            archive.extractall(tmp_dir)
        for name in MODELS:
            raw = tmp_dir / f"{name}.onnx"
            cmd = [sys.executable, "-m", "tf2onnx.convert", "--tflite", str(tmp_dir / f"{name}.tflite"), "--output", str(raw)]
            subprocess.run([*cmd, "--opset", str(OPSET)], check=True, capture_output=True)
            dst = OUT / f"{name}.onnx"
            onnx.save(rewrite_prelu(onnx.load(raw)), dst)
            print(
                f"{name}.tflite -> {dst.relative_to(REPO)} ({dst.stat().st_size} bytes, sha256 {hashlib.sha256(dst.read_bytes()).hexdigest()})"
            )
        check(tmp_dir)


if __name__ == "__main__":
    main(sys.argv[1])
