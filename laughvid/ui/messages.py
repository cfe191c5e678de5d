"""What the reviewer is told: what a button did, or why it was refused.

The app catches LaughvidError (what laughvid raises on purpose, with a message for the user) here
and nowhere else: `run_op` around every button's action, `show_page` around drawing the page (a
damaged, read-only or locked store becomes the page). Anything else is a bug, and Streamlit shows
its traceback. Messages name files, so they are escaped with `literal` before Streamlit's Markdown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from laughvid.config import Settings
from laughvid.errors import LaughvidError
from laughvid.ui import actions
from laughvid.ui.text import literal


def flash(kind: str, message: str) -> None:
    """Queue a message ("success", "info" or "error") for the next drawing of the page: a callback runs before
    the page is drawn again, so the page shows it (`show_flashes`)."""
    st.session_state.setdefault("flash", []).append((kind, message))


def run_op(
    settings: Settings, fn: Callable[..., Any], *args: Any, ok: str | None = None, then: Callable[[Any], None] | None = None
) -> None:
    """Run `fn(store connection, *args)` from a callback; a refused change shows why and writes nothing.

    Args:
        settings: where the store is (a connection per call: callbacks may run on another thread).
        fn: the action, from `laughvid.ui.actions`.
        ok: the message on success, formatted with `result=` what `fn` returned.
        then: keeps UI state from the result (a selection, files to download) once `fn` succeeded.
    """
    try:
        result = fn(actions.connect(settings), *args)
    except LaughvidError as exc:
        flash("error", str(exc))
        return
    if then:
        then(result)
    if ok:
        flash("success", ok.format(result=result))


MESSAGE_BAR_PX = 64  # fixed: a message appearing or going never moves the player


def show_flashes() -> None:
    """The message bar: one fixed-height box above the player, always drawn (empty when there is
    nothing to say), holding what the last action did or why it was refused. Successes and refusals also toast, so they show
    wherever the page is scrolled."""
    bar = st.container(height=MESSAGE_BAR_PX, border=False, key="message_bar")
    messages = st.session_state.pop("flash", [])
    for kind, message in messages:
        if kind == "error":  # toasted too: a form far below the bar (People panel) is refused in view
            bar.error(literal(message), icon=":material/error:")
            st.toast(literal(message), icon=":material/error:")
        elif kind == "info":  # neither done nor refused: an export the reviewer cancelled
            bar.info(literal(message), icon=":material/cancel:")
        else:
            bar.success(literal(message), icon=":material/check_circle:")
            st.toast(literal(message), icon=":material/check_circle:")


def show_page(draw: Callable[[], None]) -> None:
    """Draw the page; a LaughvidError raised while drawing (e.g. the store cannot be opened) is shown
    as a message saying what happened and what to do."""
    try:
        draw()
    except LaughvidError as exc:
        st.error(literal(str(exc)))
