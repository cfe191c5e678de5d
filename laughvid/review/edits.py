"""Review state of laugh segments, saved in the store on every change, with undo and redo.

Why only touched segments are stored: auto segments are a function of the score cache and the
tuning controls, so they are recomputed whenever the threshold or smoothing changes. A segment
the reviewer acted on (accept, reject, edit, split, merge, add, delete) is written as a row and
from then on wins over any auto segment that overlaps it, so re-thresholding never loses work.
Every change also writes a log entry holding the rows as they were before, which is what undo
restores (and the rows an undo replaced, which is what redo puts back). "Whole video reviewed" marks the time outside accepted/added segments as non-laugh.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import replace

from laughvid.clock import now_iso
from laughvid.errors import ReviewError
from laughvid.pipeline.timeline import values_between
from laughvid.review.intensity import with_peak_intensity
from laughvid.types import ReviewedSegment, ScoreSeries, Segment

STATES = ("pending", "accepted", "rejected", "added", "deleted")
LAUGH_STATES = ("accepted", "added")  # what counts as laughter for clips and fine-tuning
_COLUMNS = ("id", "video_sha256", "start_s", "end_s", "state", "origin", "peak_prob", "mean_prob", "track_ids", "reviewer", "reviewed_at")


def _to_item(row: sqlite3.Row | tuple) -> ReviewedSegment:
    r = dict(zip(_COLUMNS, row, strict=False))
    tracks = tuple(int(t) for t in r["track_ids"].split()) if r["track_ids"] else ()
    segment = Segment(
        r["start_s"], r["end_s"], r["peak_prob"], r["mean_prob"], tracks, "not_laugh" if r["state"] == "rejected" else "laugh"
    )
    return ReviewedSegment(segment, r["state"], r["origin"], r["reviewer"], r["reviewed_at"], r["id"])


def stored(conn: sqlite3.Connection, video_sha256: str, include_deleted: bool = False) -> list[ReviewedSegment]:
    """Segments the reviewer has acted on, in time order."""
    rows = conn.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM review_segments WHERE video_sha256 = ? ORDER BY start_s, id", (video_sha256,)
    ).fetchall()
    items = [_to_item(r) for r in rows]
    return items if include_deleted else [i for i in items if i.state != "deleted"]


def _overlaps(a0: float, a1: float, b0: float, b1: float) -> bool:
    return a0 < b1 and b0 < a1


def review_list(
    auto: Sequence[Segment],
    conn: sqlite3.Connection,
    video_sha256: str,
    intensity: ScoreSeries | None = None,
    series: ScoreSeries | None = None,
) -> list[ReviewedSegment]:
    """What the reviewer sees: stored segments, plus auto segments no stored one (deleted included) covers.
    Given the analysis' laugh probability `series` and `intensity` series, stored segments get their
    peak and mean probability and peak intensity from them for their current bounds, as auto segments
    have (a stored row keeps the figures of the segment it was made from: 0 for an added one, stale
    after a trim or under another model)."""
    kept = stored(conn, video_sha256, include_deleted=True)
    fresh = [ReviewedSegment(s) for s in auto if not any(_overlaps(s.start_s, s.end_s, k.start_s, k.end_s) for k in kept)]
    shown = with_peak_intensity(_with_probs([k for k in kept if k.state != "deleted"], series), intensity)
    return sorted(shown + fresh, key=lambda i: (i.start_s, i.end_s))


def _with_probs(items: Sequence[ReviewedSegment], series: ScoreSeries | None) -> list[ReviewedSegment]:
    """The items with peak and mean laugh probability read from `series` over their bounds (as
    `find_segments` measures a segment); an item with no scored frame inside keeps its stored figures."""
    if series is None:
        return list(items)
    out = []
    for item in items:
        inside = values_between(series, item.start_s, item.end_s)
        scored = replace(item.segment, peak_prob=float(inside.max()), mean_prob=float(inside.mean())) if len(inside) else item.segment
        out.append(replace(item, segment=scored))
    return out


def hidden_candidates(
    auto: Sequence[Segment], conn: sqlite3.Connection, video_sha256: str, min_uncovered_s: float = 1.0, min_share: float = 0.5
) -> list[Segment]:
    """Auto segments `review_list` leaves out because a reviewed (or deleted) segment overlaps them,
    although most of them (at least `min_share`, and `min_uncovered_s`) lies outside every reviewed
    one: laughter the current tuning finds that nobody judged (a lower threshold grows a candidate
    around a rejected moment, say), which the page mentions rather than dropping silently. A
    reviewer's trim of an edge leaves a small share outside and is not reported."""
    kept = stored(conn, video_sha256, include_deleted=True)
    hidden = []
    for s in auto:
        over = [k for k in kept if _overlaps(s.start_s, s.end_s, k.start_s, k.end_s)]
        uncovered = s.end_s - s.start_s - sum(min(s.end_s, k.end_s) - max(s.start_s, k.start_s) for k in over)
        if over and uncovered >= min_uncovered_s and uncovered >= min_share * (s.end_s - s.start_s):
            hidden.append(s)
    return hidden


def _stored_row(conn: sqlite3.Connection, row_id: int) -> tuple:
    row = conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM review_segments WHERE id = ?", (row_id,)).fetchone()
    if row is None:
        raise ReviewError(f"segment #{row_id} is no longer in the store (changed in another tab?): reload")
    return row


def _fresh(conn: sqlite3.Connection, video_sha256: str, item: ReviewedSegment) -> ReviewedSegment:
    """`item` as stored now. A page (or another tab) holds segments as they were when it was drawn:
    a double click or a stale page must act on the stored row, not insert a second copy of it."""
    if item.id is not None:
        return _to_item(_stored_row(conn, item.id))
    row = conn.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM review_segments WHERE video_sha256 = ? AND start_s = ? AND end_s = ? ORDER BY id",
        (video_sha256, item.start_s, item.end_s),
    ).fetchone()
    return _to_item(row) if row is not None else item


def _check_bounds(start_s: float, end_s: float, duration_s: float | None) -> None:
    if not (start_s >= 0 and end_s > start_s):
        raise ReviewError(f"a segment needs 0 <= start < end, got {start_s:.2f}-{end_s:.2f} s")
    if duration_s is not None and end_s > duration_s + 1e-6:
        raise ReviewError(f"segment end {end_s:.2f} s is past the end of the video ({duration_s:.2f} s)")


def _check_free(conn: sqlite3.Connection, video_sha256: str, start_s: float, end_s: float, ignore: Sequence[int | None] = ()) -> None:
    for other in stored(conn, video_sha256):
        if other.id not in ignore and _overlaps(start_s, end_s, other.start_s, other.end_s):
            raise ReviewError(
                f"{start_s:.2f}-{end_s:.2f} s overlaps the reviewed segment {other.start_s:.2f}-{other.end_s:.2f} s: "
                "edit or merge that one instead"
            )


def _check_reviewer(reviewer: str) -> str:
    reviewer = (reviewer or "").strip()
    if not reviewer:
        raise ReviewError("enter your name as reviewer first: every change records who made it")
    return reviewer


class _Change:
    """One user action: snapshots rows before touching them and logs itself for undo, atomically."""

    def __init__(self, conn: sqlite3.Connection, video_sha256: str, action: str, reviewer: str) -> None:
        self.conn, self.video, self.action = conn, video_sha256, action
        self.reviewer = _check_reviewer(reviewer)
        self.at = now_iso()
        self.before: dict[int, list] = {}
        self.created: list[int] = []

    def _snapshot(self, row_id: int) -> None:
        if row_id not in self.before:
            self.before[row_id] = list(_stored_row(self.conn, row_id))

    def write(
        self, item: ReviewedSegment, state: str, start_s: float | None = None, end_s: float | None = None, origin: str | None = None
    ) -> int:
        """Insert or update the row for `item` with a new state/bounds; returns its id."""
        seg = item.segment
        values = (
            seg.start_s if start_s is None else start_s,
            seg.end_s if end_s is None else end_s,
            state,
            origin or item.origin,
            seg.peak_prob,
            seg.mean_prob,
            " ".join(map(str, seg.track_ids)),
            self.reviewer,
            self.at,
        )
        if item.id is None:
            cursor = self.conn.execute(
                "INSERT INTO review_segments (video_sha256, start_s, end_s, state, origin, peak_prob, mean_prob, track_ids, reviewer, reviewed_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (self.video, *values),
            )
            self.created.append(cursor.lastrowid)
            return cursor.lastrowid
        self._snapshot(item.id)
        self.conn.execute(
            "UPDATE review_segments SET start_s=?, end_s=?, state=?, origin=?, peak_prob=?, mean_prob=?, track_ids=?, reviewer=?, reviewed_at=? WHERE id=?",
            (*values, item.id),
        )
        return item.id

    def remove(self, item: ReviewedSegment) -> None:
        if item.id is not None:
            self._snapshot(item.id)
            self.conn.execute("DELETE FROM review_segments WHERE id = ?", (item.id,))

    def commit(self) -> None:
        # A new change ends the redo chain for good: what was undone before it is marked undone = 2, so
        # undoing this change later does not bring the older ones back into reach of redo.
        self.conn.execute("UPDATE review_log SET undone = 2 WHERE video_sha256 = ? AND undone = 1", (self.video,))
        self.conn.execute(
            "INSERT INTO review_log (video_sha256, action, reviewer, at, before_json, created_ids) VALUES (?, ?, ?, ?, ?, ?)",
            (self.video, self.action, self.reviewer, self.at, json.dumps(list(self.before.values())), json.dumps(self.created)),
        )
        self.conn.commit()


def _apply(conn: sqlite3.Connection, video_sha256: str, action: str, reviewer: str, body) -> list[int]:
    change = _Change(conn, video_sha256, action, reviewer)
    try:
        ids = body(change)
        change.commit()
    except BaseException:
        conn.rollback()
        raise
    return ids


def set_state(conn: sqlite3.Connection, video_sha256: str, item: ReviewedSegment, state: str, reviewer: str) -> int:
    """Accept or reject (or reset to pending) one segment; returns its row id."""
    if state not in ("accepted", "rejected", "pending"):
        raise ReviewError(f"cannot set state {state!r} directly (use add/delete)")
    item = _fresh(conn, video_sha256, item)
    if item.state == "added" and state == "accepted":
        return item.id  # an added segment is already a laugh
    return _apply(conn, video_sha256, state, reviewer, lambda c: [c.write(item, state)])[0]


def accept(conn: sqlite3.Connection, video_sha256: str, item: ReviewedSegment, reviewer: str) -> int:
    return set_state(conn, video_sha256, item, "accepted", reviewer)


def reject(conn: sqlite3.Connection, video_sha256: str, item: ReviewedSegment, reviewer: str) -> int:
    return set_state(conn, video_sha256, item, "rejected", reviewer)


def edit_bounds(
    conn: sqlite3.Connection,
    video_sha256: str,
    item: ReviewedSegment,
    start_s: float,
    end_s: float,
    reviewer: str,
    duration_s: float | None = None,
) -> int:
    """New start/end; a pending segment whose bounds the reviewer fixed counts as accepted."""
    _check_bounds(start_s, end_s, duration_s)
    item = _fresh(conn, video_sha256, item)
    _check_free(conn, video_sha256, start_s, end_s, ignore=(item.id,))
    state = "accepted" if item.state == "pending" else item.state
    return _apply(conn, video_sha256, "edit", reviewer, lambda c: [c.write(item, state, start_s, end_s)])[0]


def split(conn: sqlite3.Connection, video_sha256: str, item: ReviewedSegment, at_s: float, reviewer: str) -> list[int]:
    """Two segments [start, at) and [at, end) that keep the state, to be judged separately."""
    item = _fresh(conn, video_sha256, item)
    if not item.start_s < at_s < item.end_s:
        raise ReviewError(f"split point {at_s:.2f} s must lie inside the segment {item.start_s:.2f}-{item.end_s:.2f} s")

    def body(c: _Change) -> list[int]:
        first = c.write(item, item.state, item.start_s, at_s)
        second = c.write(ReviewedSegment(item.segment, item.state, item.origin), item.state, at_s, item.end_s)
        return [first, second]

    return _apply(conn, video_sha256, "split", reviewer, body)


def merge(conn: sqlite3.Connection, video_sha256: str, items: Sequence[ReviewedSegment], reviewer: str) -> int:
    """One segment from the first start to the last end; it is a laugh if any part was."""
    if len(items) < 2:
        raise ReviewError("select at least two segments to merge")
    items = sorted((_fresh(conn, video_sha256, i) for i in items), key=lambda i: i.start_s)
    start, end = items[0].start_s, max(i.end_s for i in items)
    _check_free(conn, video_sha256, start, end, ignore=[i.id for i in items])
    states = {i.state for i in items}
    if states == {"added"} or states == {"rejected"}:
        state = states.pop()
    else:
        state = "accepted" if states & set(LAUGH_STATES) else "pending"
    origin = "manual" if any(i.origin == "manual" for i in items) else "auto"
    tracks = tuple(sorted({t for i in items for t in i.segment.track_ids}))
    combined = Segment(
        start,
        end,
        max(i.segment.peak_prob for i in items),
        sum(i.segment.mean_prob * i.segment.duration_s for i in items) / sum(i.segment.duration_s for i in items),
        tracks,
    )

    def body(c: _Change) -> list[int]:
        keeper = next((i for i in items if i.id is not None), None)
        for other in items:
            if other is not keeper:
                c.remove(other)
        target = ReviewedSegment(combined, state, origin, id=keeper.id if keeper else None)
        return [c.write(target, state, origin=origin)]

    return _apply(conn, video_sha256, "merge", reviewer, body)[0]


def add(conn: sqlite3.Connection, video_sha256: str, start_s: float, end_s: float, reviewer: str, duration_s: float | None = None) -> int:
    """A laugh the model missed."""
    _check_bounds(start_s, end_s, duration_s)
    _check_free(conn, video_sha256, start_s, end_s)
    item = ReviewedSegment(Segment(start_s, end_s, 0.0, 0.0), "added", "manual")
    return _apply(conn, video_sha256, "add", reviewer, lambda c: [c.write(item, "added")])[0]


def delete(conn: sqlite3.Connection, video_sha256: str, item: ReviewedSegment, reviewer: str) -> None:
    """Drop a segment. A manual one is removed; an auto one is kept as 'deleted' so that it does not
    come back on the next re-threshold (it is not used as a training label either way)."""
    item = _fresh(conn, video_sha256, item)

    def body(c: _Change) -> list[int]:
        if item.origin == "manual":
            c.remove(item)
            return []
        return [c.write(item, "deleted")]

    _apply(conn, video_sha256, "delete", reviewer, body)


def _affected(before_json: str, created_json: str) -> list[int]:
    """Row ids a logged change touched: the rows it changed or removed, and the rows it created."""
    return [row[0] for row in json.loads(before_json)] + list(json.loads(created_json))


def _rows(conn: sqlite3.Connection, row_ids: Sequence[int]) -> list[list]:
    marks = ", ".join("?" * len(row_ids))
    return [list(r) for r in conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM review_segments WHERE id IN ({marks})", list(row_ids))]


def _replace(conn: sqlite3.Connection, row_ids: Sequence[int], rows: Sequence[Sequence]) -> None:
    """Make the rows `row_ids` be exactly `rows` (an id missing from `rows` is removed)."""
    conn.execute(f"DELETE FROM review_segments WHERE id IN ({', '.join('?' * len(row_ids))})", list(row_ids))
    for row in rows:
        conn.execute(f"INSERT INTO review_segments ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})", row)


def undo(conn: sqlite3.Connection, video_sha256: str) -> str:
    """Revert the most recent change not yet undone (repeatable); returns what was undone. The rows it
    replaces are kept in the log, so `redo` can put them back."""
    entry = conn.execute(
        "SELECT id, action, at, before_json, created_ids FROM review_log WHERE video_sha256 = ? AND undone = 0 ORDER BY id DESC LIMIT 1",
        (video_sha256,),
    ).fetchone()
    if entry is None:
        raise ReviewError("nothing to undo for this video")
    log_id, action, at, before_json, created_json = entry
    with conn:  # all or nothing: a failure part way leaves the review and its log as they were
        affected = _affected(before_json, created_json)
        after = _rows(conn, affected)
        _replace(conn, affected, json.loads(before_json))
        conn.execute("UPDATE review_log SET undone = 1, redo_json = ? WHERE id = ?", (json.dumps(after), log_id))
    return f"{action} at {at}"


def redo(conn: sqlite3.Connection, video_sha256: str) -> str:
    """Put back the change undone last (repeatable); returns what was redone. A new change after an
    undo ends the redo chain, as in any editor: redoing would overwrite it."""
    entry = conn.execute(
        "SELECT id, action, at, before_json, created_ids, redo_json FROM review_log WHERE video_sha256 = ? AND undone = 1"
        " AND id > (SELECT COALESCE(MAX(id), 0) FROM review_log WHERE video_sha256 = ? AND undone = 0) ORDER BY id LIMIT 1",
        (video_sha256, video_sha256),
    ).fetchone()
    if entry is None:
        raise ReviewError("nothing to redo for this video")
    log_id, action, at, before_json, created_json, redo_json = entry
    if redo_json is None:
        raise ReviewError(f"{action} at {at} was undone by an older laughvid that kept no copy to redo from")
    with conn:  # all or nothing, as undo
        _replace(conn, _affected(before_json, created_json), json.loads(redo_json))
        conn.execute("UPDATE review_log SET undone = 0, redo_json = NULL WHERE id = ?", (log_id,))
    return f"{action} at {at}"


def mark_complete(conn: sqlite3.Connection, video_sha256: str, reviewer: str, complete: bool = True) -> None:
    """The reviewer has watched the whole video: time outside laugh segments is confirmed non-laugh."""
    reviewer = _check_reviewer(reviewer)
    conn.execute(
        "INSERT OR REPLACE INTO review_videos (video_sha256, completed_by, completed_at) VALUES (?, ?, ?)",
        (video_sha256, reviewer if complete else None, now_iso() if complete else None),
    )
    conn.commit()


def completed(conn: sqlite3.Connection, video_sha256: str) -> tuple[str, str] | None:
    """(reviewer, when) if the whole video was marked reviewed."""
    row = conn.execute("SELECT completed_by, completed_at FROM review_videos WHERE video_sha256 = ?", (video_sha256,)).fetchone()
    return (row[0], row[1]) if row and row[0] else None


def step(items: Sequence[ReviewedSegment], current: int, direction: int, pending_only: bool = False) -> int:
    """Index of the next (+1) or previous (-1) segment from `current`, optionally skipping reviewed
    ones; stays put at either end."""
    index = current + direction
    while 0 <= index < len(items):
        if not pending_only or items[index].state == "pending":
            return index
        index += direction
    return current
