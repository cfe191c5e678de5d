"""Review state: every op saved with who/when, undo, re-threshold keeps reviewed work."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from laughvid import review
from laughvid.review import ReviewError, edits
from laughvid.review.intensity import biggest_first
from laughvid.store import open_store
from laughvid.types import ReviewedSegment, ScoreSeries, Segment

SHA = "a" * 64


@pytest.fixture
def conn(tmp_path):
    return open_store(tmp_path / "store.sqlite")


def auto(*spans: tuple[float, float]) -> list[Segment]:
    return [Segment(a, b, 0.9, 0.8, (1,)) for a, b in spans]


def states(items) -> list[tuple[float, float, str]]:
    return [(i.start_s, i.end_s, i.state) for i in items]


def test_accept_and_reject_are_saved_with_reviewer_and_time(conn, tmp_path):
    items = review.review_list(auto((1, 2), (5, 6)), conn, SHA)
    review.accept(conn, SHA, items[0], "ana")
    review.reject(conn, SHA, items[1], "ben")
    reopened = sqlite3.connect(tmp_path / "store.sqlite")  # a browser refresh / crash: new connection
    saved = review.stored(reopened, SHA)
    assert states(saved) == [(1, 2, "accepted"), (5, 6, "rejected")]
    assert [s.reviewer for s in saved] == ["ana", "ben"] and all(s.reviewed_at for s in saved)


def test_a_stale_page_acts_on_the_stored_segment(conn):
    """A double click, or a page drawn before the last change, hands in the segment as it was:
    the change lands on the stored row instead of adding a copy or clashing with itself."""
    (drawn,) = review.review_list(auto((0, 1.9)), conn, SHA)
    review.accept(conn, SHA, drawn, "ana")
    review.accept(conn, SHA, drawn, "ana")  # double click
    review.edit_bounds(conn, SHA, drawn, 0.5, 1.9, "ana")  # still the pending copy of the first draw
    assert states(review.stored(conn, SHA)) == [(0.5, 1.9, "accepted")]
    review.delete(conn, SHA, review.stored(conn, SHA)[0], "ana")
    with pytest.raises(ReviewError, match="no longer in the store"):
        stale = review.stored(conn, SHA, include_deleted=True)[0]
        conn.execute("DELETE FROM review_segments")
        review.accept(conn, SHA, stale, "ana")


def test_reviewed_segments_survive_rethresholding(conn):
    first = review.review_list(auto((1, 2), (5, 6)), conn, SHA)
    review.edit_bounds(conn, SHA, first[0], 0.8, 2.4, "ana")
    review.reject(conn, SHA, first[1], "ana")
    # A lower threshold widens and adds auto segments; reviewed ones win where they overlap.
    again = review.review_list(auto((0.5, 2.6), (4.5, 6.5), (9, 10)), conn, SHA)
    assert states(again) == [(0.8, 2.4, "accepted"), (5, 6, "rejected"), (9, 10, "pending")]


def test_split_merge_add_delete(conn):
    items = review.review_list(auto((1, 3), (4, 5)), conn, SHA)
    review.split(conn, SHA, items[0], 2.0, "ana")
    items = review.review_list(auto((1, 3), (4, 5)), conn, SHA)
    assert states(items) == [(1, 2, "pending"), (2, 3, "pending"), (4, 5, "pending")]
    review.merge(conn, SHA, [items[1], items[2]], "ana")
    review.add(conn, SHA, 7.0, 8.0, "ana", duration_s=10)
    items = review.review_list(auto((1, 3), (4, 5)), conn, SHA)
    assert states(items) == [(1, 2, "pending"), (2, 5, "pending"), (7, 8, "added")]
    review.delete(conn, SHA, items[2], "ana")  # manual: gone
    review.delete(conn, SHA, items[0], "ana")  # auto: hidden, does not come back
    assert states(review.review_list(auto((1, 3), (4, 5)), conn, SHA)) == [(2, 5, "pending")]


def test_merge_keeps_laughs(conn):
    items = review.review_list(auto((1, 2), (3, 4)), conn, SHA)
    review.accept(conn, SHA, items[0], "ana")
    items = review.review_list(auto((1, 2), (3, 4)), conn, SHA)
    review.merge(conn, SHA, items, "ana")
    (merged,) = review.stored(conn, SHA)
    assert (merged.start_s, merged.end_s, merged.state) == (1, 4, "accepted")


def test_undo_reverts_changes_one_by_one(conn):
    segs = auto((1, 3))
    items = review.review_list(segs, conn, SHA)
    review.accept(conn, SHA, items[0], "ana")
    review.split(conn, SHA, review.review_list(segs, conn, SHA)[0], 2.0, "ana")
    assert len(review.stored(conn, SHA)) == 2
    assert review.undo(conn, SHA).startswith("split")
    assert states(review.review_list(segs, conn, SHA)) == [(1, 3, "accepted")]
    assert review.undo(conn, SHA).startswith("accepted")
    assert states(review.review_list(segs, conn, SHA)) == [(1, 3, "pending")]
    with pytest.raises(ReviewError, match="nothing to undo"):
        review.undo(conn, SHA)


def test_an_undo_or_redo_that_fails_part_way_leaves_the_review_as_it_was(conn, monkeypatch):
    """Undo and redo replace rows in two steps (remove, insert) and mark the log: a failure between
    them (disk full, a killed app) must not leave segments half removed or the log out of step."""
    segs = auto((1, 3))
    review.accept(conn, SHA, review.review_list(segs, conn, SHA)[0], "ana")
    review.split(conn, SHA, review.review_list(segs, conn, SHA)[0], 2.0, "ana")
    real = edits._replace

    def fails_after_writing(*args):
        real(*args)
        raise sqlite3.OperationalError("disk I/O error")

    # the split's undo fails, then works; then its redo fails, then works
    for step, shown in ((review.undo, [(1, 2, "accepted"), (2, 3, "accepted")]), (review.redo, [(1, 3, "accepted")])):
        monkeypatch.setattr(edits, "_replace", fails_after_writing)
        with pytest.raises(sqlite3.OperationalError):
            step(conn, SHA)
        monkeypatch.setattr(edits, "_replace", real)
        assert states(review.review_list(segs, conn, SHA)) == shown
        assert step(conn, SHA).startswith("split")  # still there to undo / redo


def test_redo_puts_back_what_undo_reverted_until_a_new_change(conn):
    segs = auto((1, 3), (4, 5))
    items = review.review_list(segs, conn, SHA)
    review.edit_bounds(conn, SHA, items[0], 1.5, 3.0, "ana")
    review.merge(conn, SHA, review.review_list(segs, conn, SHA), "ana")
    merged = states(review.review_list(segs, conn, SHA))
    assert merged == [(1.5, 5, "accepted")]
    review.undo(conn, SHA)
    review.undo(conn, SHA)
    assert states(review.review_list(segs, conn, SHA)) == [(1, 3, "pending"), (4, 5, "pending")]
    assert review.redo(conn, SHA).startswith("edit")
    assert states(review.review_list(segs, conn, SHA)) == [(1.5, 3, "accepted"), (4, 5, "pending")]
    assert review.redo(conn, SHA).startswith("merge")
    assert states(review.review_list(segs, conn, SHA)) == merged
    with pytest.raises(ReviewError, match="nothing to redo"):
        review.redo(conn, SHA)
    review.undo(conn, SHA)
    review.add(conn, SHA, 7.0, 8.0, "ana", duration_s=10)  # a new change: the undone merge cannot come back over it
    with pytest.raises(ReviewError, match="nothing to redo"):
        review.redo(conn, SHA)
    assert states(review.review_list(segs, conn, SHA)) == [(1.5, 3, "accepted"), (4, 5, "pending"), (7, 8, "added")]


def test_redo_after_undoing_a_later_change_puts_back_that_change_not_one_its_chain_ended(conn):
    """Reject, undo, trim (a new change: the reject cannot come back), undo the trim, redo: the trim is
    put back. Redo put back the reject instead (the older undone change), which the reviewer had dropped."""
    segs = auto((1, 3))
    review.reject(conn, SHA, review.review_list(segs, conn, SHA)[0], "ana")
    review.undo(conn, SHA)
    review.edit_bounds(conn, SHA, review.review_list(segs, conn, SHA)[0], 1.5, 3.0, "ana")
    review.undo(conn, SHA)
    assert states(review.review_list(segs, conn, SHA)) == [(1, 3, "pending")]
    assert review.redo(conn, SHA).startswith("edit")
    assert states(review.review_list(segs, conn, SHA)) == [(1.5, 3, "accepted")]
    with pytest.raises(ReviewError, match="nothing to redo"):
        review.redo(conn, SHA)


def test_a_candidate_reaching_past_a_reviewed_segment_is_reported_not_dropped_silently(conn):
    items = review.review_list(auto((2, 3)), conn, SHA)
    review.reject(conn, SHA, items[0], "ana")
    lower = auto((1, 5), (2.1, 2.9), (8, 9))  # a lower threshold: 1-5 s reaches 3 s past the rejected 2-3 s
    assert states(review.review_list(lower, conn, SHA)) == [(2, 3, "rejected"), (8, 9, "pending")]
    assert [(s.start_s, s.end_s) for s in review.hidden_candidates(lower, conn, SHA)] == [(1, 5)]  # 2.1-2.9 lies inside: not new
    (candidate,) = [i for i in review.review_list(auto((8, 10)), conn, SHA) if i.start_s == 8]
    review.edit_bounds(conn, SHA, candidate, 8.5, 10, "ana")  # a reviewer trims its start
    assert review.hidden_candidates(auto((8, 10)), conn, SHA) == []


def test_bad_changes_are_refused_and_write_nothing(conn):
    items = review.review_list(auto((1, 3)), conn, SHA)
    with pytest.raises(ReviewError, match="reviewer"):
        review.accept(conn, SHA, items[0], "  ")
    with pytest.raises(ReviewError, match="start < end"):
        review.edit_bounds(conn, SHA, items[0], 3, 1, "ana")
    with pytest.raises(ReviewError, match="past the end"):
        review.add(conn, SHA, 8, 12, "ana", duration_s=10)
    with pytest.raises(ReviewError, match="inside the segment"):
        review.split(conn, SHA, items[0], 5.0, "ana")
    review.accept(conn, SHA, items[0], "ana")
    with pytest.raises(ReviewError, match="overlaps"):
        review.add(conn, SHA, 2, 4, "ana")
    assert states(review.stored(conn, SHA)) == [(1, 3, "accepted")]


def test_next_previous_navigation():
    items = [ReviewedSegment(s, st) for s, st in zip(auto((1, 2), (3, 4), (5, 6)), ["accepted", "pending", "pending"], strict=False)]
    assert review.step(items, 0, +1) == 1
    assert review.step(items, 2, +1) == 2  # stays at the end
    assert review.step(items, 2, -1, pending_only=True) == 1
    assert review.step(items, 1, -1, pending_only=True) == 1


def test_mark_video_complete(conn):
    assert review.completed(conn, SHA) is None
    review.mark_complete(conn, SHA, "ana")
    assert review.completed(conn, SHA)[0] == "ana"


def test_biggest_laughs_rank_first_and_segments_without_intensity_last():
    segs = [Segment(0, 1, 0.9, 0.8), Segment(2, 3, 0.9, 0.8, peak_intensity=0.4), Segment(4, 5, 0.9, 0.8, peak_intensity=0.95)]
    segs += [Segment(6, 7, 0.9, 0.8, peak_intensity=0.4), Segment(8, 9, 0.9, 0.8)]
    assert [(s.start_s, s.peak_intensity) for s in biggest_first(segs)] == [(4, 0.95), (2, 0.4), (6, 0.4), (0, None), (8, None)]
    assert [s.start_s for s in biggest_first(segs, top=2)] == [4, 2]


def test_reviewed_segments_get_their_peak_intensity_back_for_their_own_bounds(conn):
    times = np.arange(0, 10, 0.5)
    intensity = ScoreSeries(times, np.where(times < 8, times / 10, np.nan))  # rises 0 -> 0.75, none from 8 s
    auto = [Segment(0.0, 2.0, 0.9, 0.8, peak_intensity=0.15)]
    review.add(conn, SHA, 3.0, 4.0, "ana")
    review.add(conn, SHA, 8.5, 9.5, "ana")  # where the analysis has no intensity
    items = review.review_list(auto, conn, SHA, intensity)
    assert [(i.state, i.segment.peak_intensity) for i in items] == [("pending", 0.15), ("added", 0.35), ("added", None)]
    assert [i.segment.peak_intensity for i in review.review_list(auto, conn, SHA)] == [0.15, None, None]  # no series: unknown


def test_reviewed_segments_get_their_laugh_probability_for_their_own_bounds(conn):
    """A trimmed, an added and a merged segment report the peak and mean of the laugh probability
    inside their bounds (as the timeline shows it), not the figures of the segment they were made from."""
    times = np.arange(0, 10, 0.5)
    series = ScoreSeries(times, np.where(times < 8, times / 10, np.nan))  # rises 0 -> 0.75, no face from 8 s
    first, second = auto((1.0, 3.0), (4.0, 5.0))  # their stored figures: peak 0.9, mean 0.8
    review.edit_bounds(conn, SHA, review.review_list([first], conn, SHA)[0], 2.0, 3.0, "ana")
    review.add(conn, SHA, 6.0, 7.0, "ana")
    review.add(conn, SHA, 8.5, 9.5, "ana")  # no face there: nothing to measure
    items = review.review_list([first, second], conn, SHA, series=series)
    got = [(i.start_s, i.state, round(i.segment.peak_prob, 3), round(i.segment.mean_prob, 3)) for i in items]
    assert got == [(2.0, "accepted", 0.25, 0.225), (4.0, "pending", 0.9, 0.8), (6.0, "added", 0.65, 0.625), (8.5, "added", 0.0, 0.0)]
    without = review.review_list([first, second], conn, SHA)  # no series: the stored figures
    assert [(i.segment.peak_prob, i.segment.mean_prob) for i in without] == [(0.9, 0.8), (0.9, 0.8), (0.0, 0.0), (0.0, 0.0)]
