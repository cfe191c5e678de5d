"""Where laughvid keeps its data and finds its shipped files: every environment variable and
default path, read here and nowhere else.

One place decides paths so that the CLI and the UI read and write the same store: the data
directory is `$LAUGHVID_HOME`, or `./laughvid_data` under the current directory (git-ignored).
Shipped files (the models, the sample video) are package resources found with importlib.resources
(`laughvid/resources/` links to the repository's `models/` and `sample_videos/`, and a wheel
carries copies), so an installed laughvid finds them without walking up from a source file.

    LAUGHVID_HOME            data directory (store, uploads, exports, fine-tune set)
    LAUGHVID_STORE           the SQLite store (default: $LAUGHVID_HOME/laughvid.sqlite)
    LAUGHVID_MODEL           a model directory or registered version that overrides the active model
    LAUGHVID_MAX_UPLOAD_MB   the app's per-file upload limit
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

HOME_ENV = "LAUGHVID_HOME"
STORE_ENV = "LAUGHVID_STORE"
MODEL_ENV = "LAUGHVID_MODEL"
MAX_UPLOAD_ENV = "LAUGHVID_MAX_UPLOAD_MB"
DEFAULT_MAX_UPLOAD_MB = 4096  # keep in step with .streamlit/config.toml server.maxUploadSize
# File extensions taken as videos: the app's upload filter and `laughvid analyze FOLDER`'s default --include.
VIDEO_TYPES = ("mp4", "mov", "m4v", "mkv", "webm", "avi", "mpg", "mpeg", "ts", "mts", "3gp", "wmv", "flv")


def shipped(name: str) -> Path:
    """A folder shipped with laughvid: `models` or `sample_videos`."""
    return Path(str(resources.files("laughvid") / "resources" / name))


SHIPPED_MODEL_DIR = shipped("models") / "smile"
DETECTOR_DIR = shipped("models") / "face_detector"
LANDMARKER_DIR = shipped("models") / "face_landmarker"  # Face Mesh V2 landmarks + blendshapes (ONNX)
FUSION_DIR = shipped("models") / "fusion"  # CNN + face geometry fusion (JSON)
SAMPLES_DIR = shipped("sample_videos")


def model_override() -> str | None:
    """`$LAUGHVID_MODEL`: a model directory or registered version, or None."""
    return os.environ.get(MODEL_ENV) or None


def max_upload_raw() -> str:
    """`$LAUGHVID_MAX_UPLOAD_MB` as written ('' when unset); the upload module validates it."""
    return os.environ.get(MAX_UPLOAD_ENV, "")


@dataclass(frozen=True)
class Settings:
    home: Path

    @classmethod
    def from_env(cls) -> Settings:
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
