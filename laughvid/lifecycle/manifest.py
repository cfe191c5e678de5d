"""The fine-tune set manifest (`SET/manifest.csv`): one reader and one atomic writer for every module
that touches it (the review UI's export, consent export/deletion, set versioning, the training loader).

`track_id` is the person as the timeline showed it; `raw_track_id` is the tracker's track, the one consent
links name, so a crop is traced to a participant linked after it was cut. Manifests written before it
existed lack that column (`laughvid.governance.consent` says which of their crops it cannot trace). `analysis`
is the fingerprint of the analysis those raw ids come from: a link made on another analysis is not matched."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from laughvid.atomic import atomic_open

MANIFEST = "manifest.csv"
# Crops being cut wait in a folder of this prefix inside the set; one left by a killed export holds
# faces no manifest names (`consent delete` removes them).
STAGING_PREFIX = ".tmp-crops-"
VIDEO_GROUP = "video-"  # `group` of a crop whose face is linked to no participant: `video-<sha256[:12]>`
MANIFEST_COLUMNS = (
    "path",
    "label",
    "group",
    "video_sha256",
    "time_s",
    "track_id",
    "raw_track_id",
    "analysis",
    "reviewer",
    "reviewed_at",
    "model_version",
    "consent_ref",
)


def read_manifest(root: str | Path) -> list[dict[str, str]]:
    """The rows of `root/manifest.csv`, or [] when the set has no manifest."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write_manifest(root: str | Path, rows: Sequence[dict], fields: Sequence[str] = MANIFEST_COLUMNS) -> None:
    """Written atomically (laughvid.atomic): a crash never leaves a half-written manifest or loses other rows.
    Keys outside `fields` are dropped, missing ones written empty."""
    with atomic_open(Path(root) / MANIFEST, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(fields), extrasaction="ignore", restval="")
        writer.writeheader()
        writer.writerows(rows)
