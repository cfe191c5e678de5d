"""One base for every error laughvid raises on purpose, so the CLI and the app catch (and show) them in
one place each.

A LaughvidError's message is written for the person at the keyboard: what happened, and what to do.
Each subclass keeps its historical built-in base (ValueError, RuntimeError, LookupError) as a second
base, so code that caught those still works. The classes live here, not in the modules that raise
them, so that catching one never imports a stage (this module imports nothing); those modules
import them from here, and their old names (`laughvid.review.edits.ReviewError`...) still resolve.
"""

from __future__ import annotations


class LaughvidError(Exception):
    """An expected failure with a message meant for the user (no traceback needed)."""


# pipeline: decode


class VideoError(LaughvidError, ValueError):
    """A file we cannot analyse; the message says why in words a user can act on."""


class InputError(LaughvidError, ValueError):
    """A path named on the command line does not exist (or is neither a file nor a folder)."""


# store


class StoreError(LaughvidError, RuntimeError):
    """The store cannot be used; the message says what happened, where, and what to do.

    `damaged`: the file is not a healthy store (empty, garbage, truncated, failing its check), as
    opposed to one laughvid may not use now (read-only, locked, newer schema).
    """

    def __init__(self, message: str, damaged: bool = False):
        super().__init__(message)
        self.damaged = damaged


class VideoFileError(VideoError):
    """The analysed video's file is missing or is not the analysed one; says which and what to do."""


class VideoNotFound(LaughvidError, LookupError):
    """No finished analysis matches what the user named; says why and what to do."""


# review


class ReviewError(LaughvidError, ValueError):
    """The change makes no sense (bad bounds, overlap, nothing to undo...); nothing was written."""


# export


class ExportError(LaughvidError, RuntimeError):
    """ffmpeg failed or the request made no sense; the message says which and why."""


class ExportCancelled(LaughvidError):
    """The user cancelled a running export. `written`: the whole files it had written before (kept);
    nothing partial is left, and a file it was replacing keeps its previous content."""

    def __init__(self, message: str = "export cancelled", written: tuple = ()):
        super().__init__(message)
        self.written = written


class FinetuneExportError(LaughvidError, ValueError):
    """Nothing usable to export, or the set folder is not writable; says what to do."""


# governance


class ConsentError(LaughvidError, ValueError):
    """A consent record or reference is missing, malformed or does not allow the requested use."""


class PersonTracksError(LaughvidError, ValueError):
    """No analysis of the video, no such person in it, or a raw track that is not part of that person."""


class BlurError(LaughvidError, RuntimeError):
    """The clip could not be read, re-encoded or blurred in full; the message says which and why."""


# lifecycle


class RegistryError(LaughvidError, ValueError):
    """Unknown version, or a model directory that cannot be registered."""


class FinetuneSetError(LaughvidError, ValueError):
    """The folder is not a usable fine-tune set; the message says what to fix."""


# training


class FinetuneError(LaughvidError, ValueError):
    """Nothing usable to fine-tune on, or inputs that do not fit together; the message says what to fix."""


# ui


class UploadError(LaughvidError, ValueError):
    """The upload was refused; nothing was kept."""


class EngineError(LaughvidError, RuntimeError):
    """The workers or the cluster could not run at all (not one video's fault); says what to do."""
