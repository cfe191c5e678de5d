"""One base for every error laughvid raises on purpose, so the CLI and the app catch (and show) them in
one place each.

A LaughvidError's message is written for the person at the keyboard: what happened, and what to do.
Each subclass keeps its historical built-in base (ValueError, RuntimeError) as a second base, so
code that caught those still works.
"""

from __future__ import annotations


class LaughvidError(Exception):
    """An expected failure with a message meant for the user (no traceback needed)."""
