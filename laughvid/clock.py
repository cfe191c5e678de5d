"""One clock for every stored timestamp: UTC, ISO 8601, to the second (sortable as text)."""

from __future__ import annotations

from datetime import UTC, date, datetime


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def today_utc() -> date:
    return datetime.now(UTC).date()
