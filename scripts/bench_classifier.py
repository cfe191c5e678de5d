"""Latency of the smile classifier in onnxruntime on ONE CPU core (intra-op threads = 1):
a single face and a batch of 64 faces. Prints the median and best wall time and the median CPU
time of the calling thread (what the run costs when other jobs share the cores); asserts nothing.

    .venv/bin/python scripts/bench_classifier.py [--model DIR] [--repeats 200]
"""

from __future__ import annotations

import argparse
import time
from importlib.metadata import version

import numpy as np

from laughvid.lifecycle.registry import load_classifier


def timings_ms(fn, repeats: int) -> tuple[float, float, float]:
    """(median wall, best wall, median thread CPU) in milliseconds."""
    for _ in range(10):
        fn()
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.thread_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
    return float(np.median(wall) * 1000), float(np.min(wall) * 1000), float(np.median(cpu) * 1000)


def line(name: str, ms: tuple[float, float, float], target: str) -> str:
    return f"{name:22s} median {ms[0]:7.3f} ms  best {ms[1]:7.3f} ms  cpu {ms[2]:7.3f} ms  ({target})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model directory (default: the active model)")
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    classifier = load_classifier(args.model, threads=1)
    size = classifier.input_size
    rng = np.random.default_rng(0)
    one = rng.integers(0, 256, (1, size, size), np.uint8)
    batch = rng.integers(0, 256, (64, size, size), np.uint8)
    frame = rng.integers(0, 256, (720, 1280, 3), np.uint8)
    boxes = [(100.0 + 15 * i, 100.0, 220.0 + 15 * i, 220.0) for i in range(8)]
    single = timings_ms(lambda: classifier.score(one), args.repeats)
    batched = timings_ms(lambda: classifier.score(batch), max(20, args.repeats // 4))
    crop = timings_ms(lambda: classifier.crop(frame, boxes), args.repeats)
    print(f"model {classifier.version} input {size}x{size} grey, onnxruntime {version('onnxruntime')}, 1 thread")
    print(line("single face", single, "target < 2 ms"))
    print(line("batch of 64 faces", batched, "target < 30 ms"))
    print(line("crop 8 faces, 720p", crop, "framing + resize"))


if __name__ == "__main__":
    main()
