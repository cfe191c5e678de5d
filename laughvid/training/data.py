"""Loaders that relabel public expression data sets to smile (1) vs non-smile (0).

Every loader returns `ImageItem`s in the layout users actually download, so the same code reads
`../shared/data` and a user's own copy. `deduplicate` then removes byte-identical copies, copies
that leak across splits, and copies whose labels disagree, and says how many each rule removed.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from laughvid.lifecycle.manifest import read_manifest
from laughvid.types import Box

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
SPLITS = ("train", "validation", "test")
# Names of the happy class across data sets (folder names are matched case-insensitively).
HAPPY_NAMES = {"happy", "happiness", "smile", "1"}
# AffectNet expression codes: 0 neutral, 1 happy, ..., 7 contempt; 8 none, 9 uncertain, 10 no-face.
AFFECTNET_VALID = set(range(8))
AFFECTNET_HAPPY = 1
FER_USAGE = {"Training": "train", "PublicTest": "validation", "PrivateTest": "test"}
FER_HAPPY = 3  # fer2013.csv emotion code
# The expression classes behind the binary label, in AffectNet's code order (0..7). Training uses
# them as an auxiliary target: knowing *which* non-smile an image is teaches finer mouth/eye features.
EMOTIONS = ("neutral", "happy", "sad", "surprise", "fear", "disgust", "anger", "contempt")
EMOTION_ALIASES = {
    "happiness": "happy",
    "smile": "happy",
    "sadness": "sad",
    "angry": "anger",
    "surprised": "surprise",
    "fearful": "fear",
    "disgusted": "disgust",
}
FER_CSV_EMOTIONS = ("anger", "disgust", "fear", "happy", "sad", "surprise", "neutral")  # fer2013.csv codes 0..6
UNKNOWN_EMOTION = -1


def emotion_index(name: str) -> int:
    """Index into EMOTIONS of a class-folder name or AffectNet code ('2', 'Sadness'); -1 if unknown."""
    name = name.strip().lower()
    if name.isdigit():
        return int(name) if int(name) < len(EMOTIONS) else UNKNOWN_EMOTION
    name = EMOTION_ALIASES.get(name, name)
    return EMOTIONS.index(name) if name in EMOTIONS else UNKNOWN_EMOTION


@dataclass(eq=False)
class ImageItem:
    """One labelled image. `pixels` is set when the image lives inside a CSV (fer2013.csv);
    `box` (x0, y0, x1, y1) when only part of the file is the face (AffectNet annotations)."""

    path: str
    smile: int
    source: str
    split: str  # train | validation | test
    group: str  # person / sequence / video id: items of one group always share a split
    pixels: np.ndarray | None = field(default=None, repr=False)
    box: Box | None = None
    emotion: int = UNKNOWN_EMOTION  # index into EMOTIONS where the data set says which expression

    def content_hash(self) -> str:
        if self.pixels is not None:
            return hashlib.md5(np.ascontiguousarray(self.pixels).tobytes()).hexdigest()
        return hashlib.md5(Path(self.path).read_bytes()).hexdigest()


@dataclass
class DedupReport:
    """How many items each rule removed (the model card records these)."""

    input_items: int = 0
    exact_duplicates: int = 0  # extra copies within one split, same label
    cross_split: int = 0  # copies in a training split whose twin sits in a held-out split
    conflicting_labels: int = 0  # all copies of groups whose labels disagree
    kept: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def hash_split(key: str, validation: float = 0.15, test: float = 0.15) -> str:
    """Deterministic split from a key (subject, file name): stable across machines and runs."""
    bucket = int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) / 0x1_0000_0000
    if bucket < test:
        return "test"
    if bucket < test + validation:
        return "validation"
    return "train"


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _class_folders(root: Path) -> list[tuple[Path, int]]:
    """(folder, smile) for each class folder under root; raises if none looks like a class."""
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    if not folders:
        raise ValueError(f"{root}: no class folders (expected e.g. happy/, neutral/, ...)")
    return [(f, int(f.name.lower() in HAPPY_NAMES)) for f in folders]


def load_fer_folders(root: str | Path) -> list[ImageItem]:
    """FER2013 as `train|validation|test/<emotion>/*.jpg` (Kaggle image layout; `val` and
    `PublicTest`-style names accepted). Group = file (FER has no person ids)."""
    root = Path(root)
    aliases = {
        "train": "train",
        "training": "train",
        "validation": "validation",
        "val": "validation",
        "publictest": "validation",
        "test": "test",
        "privatetest": "test",
    }
    items = []
    for split_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        split = aliases.get(split_dir.name.lower())
        if split is None:
            continue
        for folder, smile in _class_folders(split_dir):
            emotion = emotion_index(folder.name)
            items += [ImageItem(str(p), smile, "fer2013", split, p.stem, emotion=emotion) for p in _images(folder)]
    if not items:
        raise ValueError(f"{root}: no FER2013 images (expected train/ validation/ test/ with emotion folders)")
    return items


def load_fer_csv(path: str | Path) -> list[ImageItem]:
    """The original `fer2013.csv` (`emotion,pixels,Usage`; 48*48 space-separated grey pixels)."""
    path = Path(path)
    items = []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"emotion", "pixels", "Usage"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing columns {sorted(missing)} (expected emotion,pixels,Usage)")
        for row_no, row in enumerate(reader, start=2):
            values = np.array(row["pixels"].split(), dtype=np.int64)
            if values.size != 48 * 48 or values.min(initial=0) < 0 or values.max(initial=0) > 255:
                raise ValueError(f"{path}:{row_no}: expected 2304 pixel values in 0..255, got {values.size}")
            split = FER_USAGE.get(row["Usage"])
            if split is None:
                raise ValueError(f"{path}:{row_no}: unknown Usage {row['Usage']!r} (expected {sorted(FER_USAGE)})")
            code = int(row["emotion"])
            emotion = emotion_index(FER_CSV_EMOTIONS[code]) if 0 <= code < len(FER_CSV_EMOTIONS) else UNKNOWN_EMOTION
            items.append(
                ImageItem(
                    f"{path}#{row_no}",
                    int(code == FER_HAPPY),
                    "fer2013",
                    split,
                    f"row{row_no}",
                    pixels=values.astype(np.uint8).reshape(48, 48),
                    emotion=emotion,
                )
            )
    return items


def load_smilesmiled(root: str | Path) -> list[ImageItem]:
    """SMILEsmileD (`SMILEs/positives/positives7`, `SMILEs/negatives/negatives7`); root may be the
    repository folder or `SMILEs/`. No person ids: split by file name hash."""
    root = Path(root)
    base = root / "SMILEs" if (root / "SMILEs").is_dir() else root
    items = []
    for sub, smile in (("positives/positives7", 1), ("negatives/negatives7", 0)):
        folder = base / sub
        if not folder.is_dir():
            raise ValueError(f"{root}: missing {sub}/ (expected the SMILEsmileD layout SMILEs/{sub})")
        items += [ImageItem(str(p), smile, "smilesmiled", hash_split(p.name), p.stem) for p in _images(folder)]
    return items


CKPLUS_NAME = re.compile(r"^(S\d+)_(\d+)_")


def load_ckplus(root: str | Path) -> list[ImageItem]:
    """CK+ as class folders of `Sxxx_yyy_zzzzzzzz.png` (CK+48 style). Split by subject, so the
    near-identical frames of one sequence never straddle train and test."""
    items = []
    for folder, smile in _class_folders(Path(root)):
        for p in _images(folder):
            match = CKPLUS_NAME.match(p.name)
            if not match:
                raise ValueError(f"{p}: CK+ file names must start with Sxxx_yyy_ (subject_sequence)")
            subject = match.group(1)
            items.append(ImageItem(str(p), smile, "ckplus", hash_split(subject), subject, emotion=emotion_index(folder.name)))
    return items


def load_affectnet_folders(root: str | Path) -> list[ImageItem]:
    """AffectNet as class folders (`0..7` codes or names), optionally under `train*/`, `val*/` and
    `test*/`. Codes 8-10 (none, uncertain, no face) are skipped. Without a `test*/` folder the
    validation images become the test split (AffectNet's own test set is not public) and a hash of
    the file name carves validation from train."""
    root = Path(root)
    split_dirs = sorted(p for p in root.iterdir() if p.is_dir() and p.name.lower().startswith(("train", "val", "test")))
    has_test = any(p.name.lower().startswith("test") for p in split_dirs)
    items = []
    for split_dir in split_dirs or [root]:
        kind = split_dir.name.lower()[:3] if split_dirs else "tra"
        for folder in sorted(p for p in split_dir.iterdir() if p.is_dir()):
            name = folder.name.lower()
            if name.isdigit() and int(name) not in AFFECTNET_VALID:
                continue
            smile = int(name == str(AFFECTNET_HAPPY) or name in HAPPY_NAMES)
            for p in _images(folder):
                if kind == "tra":
                    split = "train" if has_test else hash_split(p.stem, test=0.0)
                else:
                    split = "validation" if kind == "val" and has_test else "test"
                items.append(ImageItem(str(p), smile, "affectnet", split, p.stem, emotion=emotion_index(name)))
    if not items:
        raise ValueError(f"{root}: no AffectNet images (expected class folders 0..7 or named emotions)")
    return items


AFFECTNET_COLUMNS = ("subDirectory_filePath", "face_x", "face_y", "face_width", "face_height", "expression")


def load_affectnet_csv(csv_path: str | Path, images_root: str | Path, split: str | None = None) -> list[ImageItem]:
    """AffectNet's annotation CSV (`training.csv` / `validation.csv`): `subDirectory_filePath`
    relative to `images_root`, the face box, and `expression` (0-10). Rows for missing files are
    skipped, counted in the error only when nothing is found."""
    csv_path, images_root = Path(csv_path), Path(images_root)
    held_out = split or ("test" if csv_path.stem.lower().startswith("val") else None)
    items, missing = [], 0
    with csv_path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        absent = set(AFFECTNET_COLUMNS) - set(reader.fieldnames or ())
        if absent:
            raise ValueError(f"{csv_path}: missing columns {sorted(absent)}")
        for row in reader:
            expression = int(row["expression"])
            if expression not in AFFECTNET_VALID:
                continue
            path = images_root / row["subDirectory_filePath"]
            if not path.is_file():
                missing += 1
                continue
            x, y = float(row["face_x"]), float(row["face_y"])
            w, h = float(row["face_width"]), float(row["face_height"])
            items.append(
                ImageItem(
                    str(path),
                    int(expression == AFFECTNET_HAPPY),
                    "affectnet",
                    held_out or hash_split(path.stem, test=0.0),
                    path.stem,
                    box=(x, y, x + w, y + h),
                    emotion=expression,
                )
            )
    if not items:
        raise ValueError(f"{csv_path}: no usable rows ({missing} image files not found under {images_root})")
    return items


def load_smile_folders(root: str | Path) -> list[ImageItem]:
    """The generic layout `smile/` + `non_smile/` (also the fine-tune set). An optional
    `manifest.csv` (`path,label,group,...`) supplies groups, so one person's crops share a split."""
    root = Path(root)
    folders = {"smile": 1, "non_smile": 0}
    if not any((root / name).is_dir() for name in folders):
        raise ValueError(f"{root}: expected smile/ and non_smile/ subfolders")
    groups = {str(Path(row["path"])): row["group"] for row in read_manifest(root) if row.get("path") and row.get("group")}
    items = []
    for name, smile in folders.items():
        if not (root / name).is_dir():
            continue
        for p in _images(root / name):
            group = groups.get(str(p.relative_to(root)), p.stem)
            items.append(ImageItem(str(p), smile, "custom", hash_split(group), group))
    return items


def deduplicate(items: list[ImageItem]) -> tuple[list[ImageItem], DedupReport]:
    """Drop byte-identical copies: all copies of a group whose labels disagree; training copies of a
    group that also sits in a held-out split (leakage); extra copies within one split."""
    report = DedupReport(input_items=len(items))
    by_hash: dict[str, list[ImageItem]] = defaultdict(list)
    for item in items:
        by_hash[item.content_hash()].append(item)
    rank = {"test": 0, "validation": 1, "train": 2}
    kept = []
    for copies in by_hash.values():
        if len({c.smile for c in copies}) > 1:
            report.conflicting_labels += len(copies)
            continue
        best = min(rank[c.split] for c in copies)
        in_best = [c for c in copies if rank[c.split] == best]
        report.cross_split += len(copies) - len(in_best)
        report.exact_duplicates += len(in_best) - 1
        if len({c.emotion for c in copies}) > 1:  # same smile label, different expressions: keep only the binary one
            in_best[0].emotion = UNKNOWN_EMOTION
        kept.append(in_best[0])
    report.kept = len(kept)
    return kept, report


def read_grey(item: ImageItem) -> np.ndarray:
    """The item's face as a grey uint8 image (cropped to `box` when the file holds more)."""
    if item.pixels is not None:
        return item.pixels
    image = cv2.imread(item.path, cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise ValueError(f"{item.path}: not a readable image")
    if item.box is not None:
        x0, y0, x1, y1 = (int(round(v)) for v in item.box)
        image = image[max(0, y0) : max(y0 + 1, y1), max(0, x0) : max(x0 + 1, x1)]
    return image


def fit_square(grey: np.ndarray, size: int) -> np.ndarray:
    """A face crop as the model's size x size input: centre square (crops that are not square
    keep their aspect ratio), area-averaged when shrinking."""
    h, w = grey.shape[:2]
    side = min(h, w)
    y0, x0 = (h - side) // 2, (w - side) // 2
    square = grey[y0 : y0 + side, x0 : x0 + side]
    interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(square, (size, size), interpolation=interp)


def load_arrays(items: list[ImageItem], size: int) -> tuple[np.ndarray, np.ndarray]:
    """Items as N x size x size grey uint8 images and N labels, ready for training."""
    images = np.empty((len(items), size, size), np.uint8)
    for i, item in enumerate(items):
        images[i] = fit_square(read_grey(item), size)
    return images, np.array([it.smile for it in items], np.int64)
