"""Helpers shared by LOOP's tests: a store connection with LOOP's tables and tiny fine-tune sets."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import cv2
import numpy as np

from laughvid.store import open_store

MANIFEST_COLUMNS = ("path,label,group,video_sha256,time_s,track_id,reviewer,reviewed_at,model_version,consent_ref").split(",")


def loop_db() -> sqlite3.Connection:
    """The real store (all migrations), in memory."""
    return open_store(":memory:")


def write_set(root: Path, people: dict[str, tuple[int, int]], consent: dict[str, str] | None = None, seed: int = 0,
              prefix: str = "") -> Path:
    """A fine-tune set: for each group, (n smile, n non-smile) random 96x96 colour crops + manifest."""
    rng = np.random.default_rng(seed)
    rows = []
    for group, (n_pos, n_neg) in people.items():
        for label, n in (("smile", n_pos), ("non_smile", n_neg)):
            (root / label).mkdir(parents=True, exist_ok=True)
            for i in range(n):
                rel = f"{label}/{prefix}{group}_{i:03d}.png"
                cv2.imwrite(str(root / rel), rng.integers(0, 256, (96, 96, 3), dtype=np.uint8))
                rows.append({"path": rel, "label": label, "group": group, "time_s": str(i * 0.5), "track_id": "1",
                             "consent_ref": (consent or {}).get(group, group)})
    with open(root / "manifest.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=MANIFEST_COLUMNS, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return root
