"""Reviewing segments: the edit operations (saved at once, undoable) and the active-learning queue.

edits.py   accept / reject / edit / split / merge / add / delete / undo / redo, completion, navigation
queue.py   what to review first (model uncertainty, per video and across the library)
intensity.py  big laughs first (ranking segments by peak laugh intensity)
"""

from laughvid.review.edits import (
    LAUGH_STATES,
    STATES,
    ReviewError,
    accept,
    add,
    completed,
    delete,
    edit_bounds,
    hidden_candidates,
    mark_complete,
    merge,
    redo,
    reject,
    review_list,
    set_state,
    split,
    step,
    stored,
    undo,
)

__all__ = [
    "LAUGH_STATES",
    "STATES",
    "ReviewError",
    "accept",
    "add",
    "completed",
    "delete",
    "edit_bounds",
    "hidden_candidates",
    "mark_complete",
    "merge",
    "redo",
    "reject",
    "review_list",
    "set_state",
    "split",
    "step",
    "stored",
    "undo",
]
