"""Turning the paths a user names (files and folders) into the list of video files to analyse.

Files named explicitly are always kept (a wrong one is reported by the analysis, with its reason);
folders contribute the files whose names match one of the `include` globs, compared without regard
to case (`*.mov` finds `IMG_0001.MOV`), from the folder itself or, with `recursive`, from every
sub-folder too. The result is sorted and holds each file once, however many times it was named.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from laughvid.config import VIDEO_TYPES
from laughvid.errors import InputError

DEFAULT_INCLUDE = tuple(f"*.{ext}" for ext in VIDEO_TYPES)


def parse_include(text: str) -> tuple[str, ...]:
    """'*.mp4, *.mov' -> ('*.mp4', '*.mov'); raises InputError when no glob is left."""
    globs = tuple(g.strip() for g in text.split(",") if g.strip())
    if not globs:
        raise InputError(f"--include needs at least one glob such as '*.mp4', got {text!r}")
    return globs


def _matches(name: str, include: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name.lower(), g.lower()) for g in include)


def video_files(
    paths: Iterable[str | Path],
    recursive: bool = False,
    include: Sequence[str] = DEFAULT_INCLUDE,
    on_empty: Callable[[Path], None] | None = None,
) -> list[Path]:
    """The video files that `paths` name, sorted, each once.

    Raises InputError for a path that does not exist. `on_empty(folder)` is called for a folder
    that holds no matching file (so the caller can say so); such a folder is otherwise skipped.
    """
    found: dict[Path, Path] = {}  # resolved -> as named, so the same file named twice counts once
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            candidates = path.rglob("*") if recursive else path.iterdir()
            matching = [p for p in candidates if _matches(p.name, include) and p.is_file()]
            if not matching and on_empty:
                on_empty(path)
        elif path.is_file():
            matching = [path]
        elif path.exists() or path.is_symlink():
            raise InputError(f"{path}: neither a file nor a folder (a broken link or a device?)")
        else:
            raise InputError(f"{path}: no such file or folder")
        for p in matching:
            found.setdefault(p.resolve(), p)
    return sorted(found.values())
