"""Latency of the smile classifier in onnxruntime on ONE CPU core (intra-op threads = 1):
a single face and a batch of 64 faces, median of repeated runs. Prints figures; asserts nothing.

    .venv/bin/python scripts/bench_classifier.py [--model DIR] [--repeats 200]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from laughvid.classifier import SmileClassifier


def median_ms(fn, repeats: int) -> float:
    for _ in range(10):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model directory (default: the active model)")
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    classifier = SmileClassifier.load(args.model, threads=1)
    size = classifier.input_size
    rng = np.random.default_rng(0)
    one = rng.integers(0, 256, (1, size, size), np.uint8)
    batch = rng.integers(0, 256, (64, size, size), np.uint8)
    frame = rng.integers(0, 256, (720, 1280, 3), np.uint8)
    boxes = [(100.0 + 15 * i, 100.0, 220.0 + 15 * i, 220.0) for i in range(8)]
    single = median_ms(lambda: classifier.score(one), args.repeats)
    batched = median_ms(lambda: classifier.score(batch), max(20, args.repeats // 4))
    crop = median_ms(lambda: classifier.crop(frame, boxes), args.repeats) / len(boxes)
    print(f"model {classifier.version} input {size}x{size} grey, onnxruntime 1 thread")
    print(f"single face          {single:7.3f} ms   (target < 2 ms)")
    print(f"batch of 64 faces    {batched:7.3f} ms   (target < 30 ms; {batched / 64:.3f} ms/face)")
    print(f"crop from 720p frame {crop:7.3f} ms per face")


if __name__ == "__main__":
    main()
