"""Progress and cancelling for exports that take more than a moment (clips, blurred clips, a reel,
fine-tune crops).

Why one tracker: an export is a row of steps of unequal cost (cut clip 1, blur it, cut clip 2...),
each of which only knows its own seconds. `Tracker` turns them into one overall fraction that only
grows, weighted by the seconds of footage each step handles, and checks the cancel token at every
report, so a step that reports often (ffmpeg's `-progress` lines, each frame batch of the blur)
also stops within a fraction of a second. Cancelling raises `ExportCancelled` from inside the step:
the temp files of `laughvid.atomic` unwind with it, and whoever wrote whole files says which.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from laughvid.errors import ExportCancelled


@dataclass(frozen=True)
class ExportProgress:
    """Where a running export is, for a progress bar: the file it writes now (`file` of `files`,
    1-based), the seconds of footage done of that step, the overall fraction and a phrase to show."""

    file: int
    files: int
    done_s: float
    total_s: float
    fraction: float  # 0..1 over the whole export, never decreasing
    phrase: str  # "clip 2 of 5: blurring faces 1.2 / 4.0 s"


ProgressFn = Callable[[ExportProgress], None]
OnTime = Callable[[float], None]  # a step's own progress: seconds of footage done


class Tracker:
    """One export's progress and cancel token. `total_s` is the work in seconds of footage handled,
    summed over the steps (a blurred clip counts its seconds twice: cut, then blur)."""

    def __init__(self, progress: ProgressFn | None, cancel: threading.Event | None, total_s: float, files: int, noun: str = "clip") -> None:
        self.progress, self.cancel = progress, cancel
        self.total_s, self.files, self.noun = max(total_s, 1e-9), files, noun
        self.finished_s = 0.0  # work of the steps already done
        self.fraction = 0.0

    def check(self) -> None:
        """Raise ExportCancelled when the token is set (nothing written is named here: the caller knows)."""
        if self.cancel is not None and self.cancel.is_set():
            raise ExportCancelled("export cancelled")

    def step(self, file: int, doing: str, seconds: float, weight: float = 1.0, label: str | None = None) -> OnTime:
        """The reporter of one step over `seconds` of footage, worth `weight` x `seconds` of the total;
        call it with the seconds done so far. `label` replaces "<noun> <file> of <files>" in the phrase."""
        self.check()
        start = self.finished_s
        self.finished_s += seconds * weight
        label = label or f"{self.noun} {file} of {self.files}"

        def on_time(done_s: float) -> None:
            self.check()
            done_s = min(max(done_s, 0.0), seconds)
            self._report(file, done_s, seconds, start + done_s * weight, f"{label}: {doing} {done_s:.1f} / {seconds:.1f} s")

        on_time(0.0)
        return on_time

    def done(self, phrase: str) -> None:
        """The last report: the whole export done."""
        self._report(self.files, 0.0, 0.0, self.total_s, phrase)

    def _report(self, file: int, done_s: float, total_s: float, work_s: float, phrase: str) -> None:
        self.fraction = max(self.fraction, min(1.0, work_s / self.total_s))
        if self.progress is not None:
            self.progress(ExportProgress(file, self.files, done_s, total_s, self.fraction, phrase))
