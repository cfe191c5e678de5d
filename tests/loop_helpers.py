"""Helpers shared by LOOP's tests: a store connection with LOOP's tables, tiny fine-tune sets, and a
video whose one person is two raw tracks (for consent links and face blurring)."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import cv2
import numpy as np
from media import astronaut_video, face_box_in_frame

from laughvid import store
from laughvid.governance.consent import Participant, add_participant
from laughvid.lifecycle.manifest import write_manifest
from laughvid.pipeline.decode import probe
from laughvid.pipeline.faces.tracker import Tracker
from laughvid.store import open_store
from laughvid.types import Detection, ScoreCache

TURNS = dict(seconds=3.0, size=(320, 180), fps=10, face_px=60)  # the video `turns_video` writes
AWAY_S = (1.0, 2.2)  # no face: longer than the tracker waits, shorter than stitching bridges


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


def write_set(
    root: Path, people: dict[str, tuple[int, int]], consent: dict[str, str] | None = None, seed: int = 0, prefix: str = ""
) -> Path:
    """A fine-tune set: for each group, (n smile, n non-smile) 96x96 colour cartoon face crops + manifest."""
    rng = np.random.default_rng(seed)
    rows = []
    for group, (n_pos, n_neg) in people.items():
        for label, n in (("smile", n_pos), ("non_smile", n_neg)):
            (root / label).mkdir(parents=True, exist_ok=True)
            for i in range(n):
                rel = f"{label}/{prefix}{group}_{i:03d}.png"
                cv2.imwrite(str(root / rel), cartoon_face(label == "smile", rng))
                rows.append(
                    {
                        "path": rel,
                        "label": label,
                        "group": group,
                        "time_s": str(i * 0.5),
                        "track_id": "1",
                        "consent_ref": (consent or {}).get(group, group),
                    }
                )
    write_manifest(root, rows)
    return root


def turns_video(path: Path) -> Path:
    """A face crossing the frame, gone from 1.0 to 2.2 s: as if one person left and another took their place."""
    return astronaut_video(path, blank_spans=[AWAY_S], **TURNS)


def turns_cache() -> ScoreCache:
    """What analysing `turns_video` stores: the real tracker gives raw track 0 before the gap and 1 after
    it (every frame analysed and detected); stitching joins them into person 0."""
    seconds, size, fps, face_px = TURNS["seconds"], TURNS["size"], TURNS["fps"], TURNS["face_px"]
    frame_times = np.round(np.arange(round(seconds * fps)) / fps, 6)
    tracker, rows = Tracker(), []
    for t in frame_times:
        if not AWAY_S[0] <= t < AWAY_S[1]:
            box = face_box_in_frame(t, seconds, size, face_px)
            ((tid, _),) = tracker.update(t, [Detection(box, 0.9)])
            rows.append((t, tid, *box, 0.9, 0.5, True))
    table = np.array(rows, np.float64)
    return ScoreCache(
        frame_times, table[:, 0], table[:, 1].astype(np.int64), table[:, 2:6], table[:, 6], table[:, 7], table[:, 8].astype(bool)
    )


def store_analysis(conn: sqlite3.Connection, video: Path, cache: ScoreCache) -> store.AnalysisRecord:
    """Store `cache` as a finished analysis of `video`, as `analyze_video` would (no model needed)."""
    record = store.start_analysis(conn, store.upsert_video(conn, store.file_sha256(video), probe(video)), "smile-test", {})
    rows = [
        (float(t), int(tid), *map(float, box), float(c), float(p), bool(d))
        for t, tid, box, c, p, d in zip(
            cache.times_s, cache.track_ids, cache.boxes, cache.confidences, cache.probs, cache.detected, strict=False
        )
    ]
    store.save_chunk(conn, record.id, cache.frame_times_s, rows, {}, 1.0)
    store.finish_analysis(conn, record.id, [])
    return record
