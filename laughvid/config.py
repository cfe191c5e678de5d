"""Where laughvid keeps its data, and the defaults every entry point (CLI, UI) shares.

One place decides paths so that the CLI and the UI read and write the same store: the data
directory is `$LAUGHVID_HOME`, or `./laughvid_data` under the current directory (git-ignored).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOME_ENV = "LAUGHVID_HOME"
STORE_ENV = "LAUGHVID_STORE"


@dataclass(frozen=True)
class Settings:
    home: Path

    @classmethod
    def from_env(cls) -> "Settings":
        return cls(home=Path(os.environ.get(HOME_ENV) or Path.cwd() / "laughvid_data"))

    @property
    def store_path(self) -> Path:
        """The SQLite store; `$LAUGHVID_STORE` overrides (e.g. a shared network path)."""
        return Path(os.environ.get(STORE_ENV) or self.home / "laughvid.sqlite")

    @property
    def uploads_dir(self) -> Path:
        return self.home / "uploads"

    @property
    def exports_dir(self) -> Path:
        return self.home / "exports"

    @property
    def finetune_dir(self) -> Path:
        return self.home / "finetune_set"
