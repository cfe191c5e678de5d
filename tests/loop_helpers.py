"""Helpers shared by LOOP's tests: a store connection with LOOP's tables and tiny fine-tune sets."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import cv2
import numpy as np

from laughvid.consent import Participant, add_participant
from laughvid.manifest import write_manifest
from laughvid.store import open_store

def loop_db(finetune_consent: list[str] = ()) -> sqlite3.Connection:
    """The real store (all migrations), in memory, with these participants consenting to fine-tuning."""
    conn = open_store(":memory:")
    for pid in finetune_consent:
        add_participant(conn, Participant(pid, pid, ("finetune",), date(2026, 1, 1)))
    return conn


def cartoon_face(smile: bool, rng: np.random.Generator) -> np.ndarray:
    """A 96x96 colour crop of a drawn face: curved mouth if smiling, straight if not, random light and noise."""
    img = np.full((96, 96, 3), int(rng.integers(40, 90)), np.uint8)
    skin = tuple(int(v) for v in rng.integers(140, 230, 3))
    cv2.ellipse(img, (48, 50), (30, 38), 0, 0, 360, skin, -1)
    for x in (36, 60):
        cv2.circle(img, (x, 40), 4, (30, 30, 30), -1)
    if smile:
        cv2.ellipse(img, (48, 62), (14, 8), 0, 0, 180, (40, 20, 20), 3)
    else:
        cv2.line(img, (36, 66), (60, 66), (40, 20, 20), 3)
    noise = rng.normal(0, 6, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def write_set(root: Path, people: dict[str, tuple[int, int]], consent: dict[str, str] | None = None, seed: int = 0,
              prefix: str = "") -> Path:
    """A fine-tune set: for each group, (n smile, n non-smile) 96x96 colour cartoon face crops + manifest."""
    rng = np.random.default_rng(seed)
    rows = []
    for group, (n_pos, n_neg) in people.items():
        for label, n in (("smile", n_pos), ("non_smile", n_neg)):
            (root / label).mkdir(parents=True, exist_ok=True)
            for i in range(n):
                rel = f"{label}/{prefix}{group}_{i:03d}.png"
                cv2.imwrite(str(root / rel), cartoon_face(label == "smile", rng))
                rows.append({"path": rel, "label": label, "group": group, "time_s": str(i * 0.5), "track_id": "1",
                             "consent_ref": (consent or {}).get(group, group)})
    write_manifest(root, rows)
    return root
