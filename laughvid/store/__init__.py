"""The SQLite store: one file holding videos, analyses, score caches, reviews, models and consent.

connection.py    open safely, migrate, check / backup / restore
migrations.py    every table, as ordered migrations (the store owns its schema)
score_cache.py   videos by content hash, analyses, per-frame face scores, segments
sqlite_file.py   the file itself: refuse anything that is not a healthy store, backups
video_identity.py  is the file on disk still the analysed video? find moved ones by hash
"""

from laughvid.errors import StoreError
from laughvid.store.connection import StoreReport, backup, check, migrate, open_store, restore
from laughvid.store.migrations import MIGRATIONS
from laughvid.store.score_cache import (
    AnalysisDone,
    AnalysisRecord,
    fail_analysis,
    file_sha256,
    find_analysis,
    finish_analysis,
    get_analysis,
    list_analyses,
    load_cache,
    load_segments,
    params_hash,
    relink_video,
    save_chunk,
    save_segments,
    start_analysis,
    upsert_video,
)

__all__ = [
    "MIGRATIONS",
    "AnalysisDone",
    "AnalysisRecord",
    "StoreError",
    "StoreReport",
    "backup",
    "check",
    "fail_analysis",
    "file_sha256",
    "find_analysis",
    "finish_analysis",
    "get_analysis",
    "list_analyses",
    "load_cache",
    "load_segments",
    "migrate",
    "open_store",
    "params_hash",
    "relink_video",
    "restore",
    "save_chunk",
    "save_segments",
    "start_analysis",
    "upsert_video",
]
