"""Shared test fixtures. Tests that need ../shared skip with a clear reason when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHARED_DATA = SHARED / "data"
DEV_VIDEOS = SHARED / "videos" / "dev"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"needs {path} (research-only data, present in CI; absent on a fresh clone)")
    return path


@pytest.fixture
def shared_data() -> Path:
    return _require(SHARED_DATA)


@pytest.fixture
def dev_videos() -> Path:
    return _require(DEV_VIDEOS)
