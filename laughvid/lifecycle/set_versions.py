"""Fine-tune set management: a content-hash version id and a frozen validation split.

Why frozen and by group: the collected data grows every review session. If validation were re-drawn
each time, or drawn by frame, neighbouring frames of one laugh would sit on both sides and every
fine-tune would look like a win. So the first time a set is used, whole groups (person / video) are
held out and written to `validation_split.json` in the set; from then on those exact crops are the
validation split, and nothing of those groups (not even crops added later) ever enters training.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import asdict, astuple, dataclass, field, replace
from datetime import date
from pathlib import Path

from laughvid.atomic import copy_atomic, write_text_atomic
from laughvid.clock import now_iso
from laughvid.errors import FinetuneSetError
from laughvid.governance.consent import CropOwner, check_crop, crop_owners
from laughvid.lifecycle.manifest import MANIFEST, VIDEO_GROUP, read_manifest, write_manifest
from laughvid.training.data import ImageItem, hash_split, load_smile_folders

VALIDATION_FILE = "validation_split.json"
DEFAULT_VALIDATION_FRACTION = 0.25


@dataclass
class CollectedItem:
    """A fine-tune crop with what the set knows about it beyond its label."""

    item: ImageItem
    md5: str
    consent_ref: str
    untraced_for: tuple[str, ...] = ()  # participants linked in its video it may show, untraced (`CropOwner.untraced_for`)


@dataclass(frozen=True)
class ValidationSplit:
    """The frozen held-out part of a set: which groups, and exactly which crops (by content hash)."""

    frozen_at_version: str
    frozen_at: str
    groups: tuple[str, ...]
    items: tuple[str, ...]


@dataclass
class PreparedSet:
    """One set ready for fine-tuning: version, frozen split applied, consent checked."""

    root: Path
    version: str
    validation_split: ValidationSplit
    train: list[CollectedItem] = field(default_factory=list)
    validation: list[CollectedItem] = field(default_factory=list)
    held_back: list[CollectedItem] = field(default_factory=list)  # validation groups' later crops: never trained
    refused: list[tuple[CollectedItem, str]] = field(default_factory=list)  # no valid consent: not used at all
    has_manifest: bool = True

    def summary(self) -> str:
        """What each crop of the set is used for, and why the ones not trained on are not."""
        lines = [
            f"{self.root} version {self.version}",
            f"  to train on: {_faces(self.train, self.has_manifest)}",
            f"  held back for testing: {_faces(self.validation, self.has_manifest)}, never trained on (the validation split frozen "
            f"at {self.validation_split.frozen_at_version}: the promotion gate compares models on it)",
        ]
        if self.held_back:
            lines.append(
                f"  also held back, not used: {len(self.held_back)} more face(s) of those test people/videos, not in the "
                "frozen split (a person is tested or trained on, never both)"
            )
        if self.refused:
            reasons = sorted({r for _, r in self.refused})
            lines.append(f"  left out: {len(self.refused)} face(s) without consent to fine-tune ({'; '.join(reasons[:3])})")
        if not self.has_manifest:
            lines.append("  note: no manifest.csv, so each image is its own group (add a group column to split by person)")
        return "\n".join(lines)


def _faces(items: list[CollectedItem], grouped: bool) -> str:
    """'28 faces (14 smile / 14 non-smile) of 5 people and 1 video': a manifest's groups are participants,
    or a video (`video-...`) for faces linked to no one; without one each image is its own group."""
    pos = sum(c.item.smile for c in items)
    if not grouped:
        return f"{len(items)} faces ({pos} smile / {len(items) - pos} non-smile)"
    groups = {c.item.group for c in items}
    videos = sum(g.startswith(VIDEO_GROUP) for g in groups)
    people = len(groups) - videos
    whose = [f"{people} {'person' if people == 1 else 'people'}"] if people or not videos else []
    whose += [f"{videos} video{'s' if videos > 1 else ''} (faces linked to no one)"] if videos else []
    return f"{len(items)} faces ({pos} smile / {len(items) - pos} non-smile) of {' and '.join(whose)}"


def _consent_refs(root: Path, conn: sqlite3.Connection | None) -> dict[str, CropOwner]:
    """manifest `path` (relative to the set) -> its owner, through today's track links when `conn` is given."""
    rows = [r for r in read_manifest(root) if r.get("path")]
    return {str(Path(r["path"])): owner for r, owner in zip(rows, crop_owners(conn, rows), strict=True)}


def load_collected(root: str | Path, default_consent_ref: str = "", conn: sqlite3.Connection | None = None) -> list[CollectedItem]:
    """All crops of a `smile/` + `non_smile/` set with their content hash and consent reference (with
    `conn`: a crop's raw track linked to a participant since it was cut is theirs, and so is its group:
    `crop_owners`)."""
    root = Path(root)
    if not root.is_dir():
        raise FinetuneSetError(f"{root}: not a folder")
    try:
        items = load_smile_folders(root)
    except ValueError as exc:
        raise FinetuneSetError(str(exc)) from exc
    if not items:
        raise FinetuneSetError(f"{root}: smile/ and non_smile/ hold no images")
    refs = _consent_refs(root, conn)
    collected = []
    for it in items:
        ref, group, untraced_for = astuple(refs.get(str(Path(it.path).relative_to(root)), CropOwner("", "", ())))
        if group and group != it.group:
            it = replace(it, group=group, split=hash_split(group))
        collected.append(CollectedItem(it, it.content_hash(), ref or default_consent_ref, untraced_for))
    return collected


def set_version(items: list[CollectedItem]) -> str:
    """`ft-<12 hex>` from contents, labels and groups: the same crops give the same id anywhere,
    any added, removed, relabelled or regrouped crop gives a new one."""
    digest = hashlib.sha256()
    for key in sorted(f"{c.md5}|{c.item.smile}|{c.item.group}" for c in items):
        digest.update(key.encode() + b"\n")
    return "ft-" + digest.hexdigest()[:12]


def _group_order(group: str) -> str:
    return hashlib.sha1(group.encode()).hexdigest()


def choose_validation_groups(items: list[CollectedItem], fraction: float = DEFAULT_VALIDATION_FRACTION) -> list[str]:
    """Whole groups, in a deterministic hash order, until about `fraction` of the crops and both
    classes are held out, always leaving at least one group for training."""
    by_group: dict[str, list[CollectedItem]] = {}
    for c in items:
        by_group.setdefault(c.item.group, []).append(c)
    if len(by_group) < 2:
        raise FinetuneSetError(f"need crops of at least 2 groups (persons/videos) to hold out validation by group; found {len(by_group)}")
    chosen: list[str] = []
    n_val, classes = 0, set()
    for group in sorted(by_group, key=_group_order):
        if len(chosen) == len(by_group) - 1 or (n_val >= fraction * len(items) and len(classes) == 2):
            break
        chosen.append(group)
        n_val += len(by_group[group])
        classes |= {c.item.smile for c in by_group[group]}
    return chosen


def freeze_validation(
    root: str | Path, items: list[CollectedItem], fraction: float = DEFAULT_VALIDATION_FRACTION, groups: list[str] | None = None
) -> ValidationSplit:
    """Load the set's frozen split, or freeze one now (only the first time: the file is never rewritten).
    `groups` picks the held-out groups explicitly (e.g. the people an experiment holds out).

    A chosen split that holds one class only is used for this run but not frozen: the gate cannot judge
    on it, and once written it stayed for good, so every later fine-tune of the grown set failed on it."""
    path = Path(root) / VALIDATION_FILE
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return ValidationSplit(data["frozen_at_version"], data["frozen_at"], tuple(data["groups"]), tuple(data["items"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise FinetuneSetError(f"{path}: unreadable frozen validation split ({exc}); restore it from a backup") from exc
    explicit = groups is not None
    groups = groups if explicit else choose_validation_groups(items, fraction)
    split = ValidationSplit(
        frozen_at_version=set_version(items),
        frozen_at=now_iso(),
        groups=tuple(sorted(groups)),
        items=tuple(sorted(c.md5 for c in items if c.item.group in groups)),
    )
    if explicit or len({c.item.smile for c in items if c.item.group in groups}) == 2:
        write_text_atomic(path, json.dumps(asdict(split), indent=2) + "\n")
    return split


def prepare(
    root: str | Path,
    conn: sqlite3.Connection,
    default_consent_ref: str = "",
    fraction: float = DEFAULT_VALIDATION_FRACTION,
    on: date | None = None,
) -> PreparedSet:
    """Version the set, apply (or create) its frozen validation split, and drop crops without consent."""
    root = Path(root)
    items = load_collected(root, default_consent_ref, conn)
    split = freeze_validation(root, items, fraction)
    frozen_items = set(split.items)
    # a person linked since the freeze may have crops under their old video group on either side: every
    # group a frozen crop belongs to now is a validation group, so their other crops are held back (never
    # trained) and the frozen crops themselves never move
    frozen_groups = set(split.groups) | {c.item.group for c in items if c.md5 in frozen_items}
    prepared = PreparedSet(root, set_version(items), split, has_manifest=(root / MANIFEST).is_file())
    for c in items:
        # a crop that may show someone whose consent does not cover fine-tuning is not used under its own consent_ref either
        check = check_crop(conn, CropOwner(c.consent_ref, c.item.group, c.untraced_for), on)
        if not check.ok:
            prepared.refused.append((c, check.reason))
        elif c.md5 in frozen_items:
            prepared.validation.append(c)
        elif c.item.group in frozen_groups:
            prepared.held_back.append(c)
        else:
            prepared.train.append(c)
    return prepared


def write_items(root: str | Path, items: list[ImageItem], consent_ref: str) -> Path:
    """A new fine-tune set from labelled image files (e.g. a public data set playing collected data in
    an experiment): copies them into `smile/` / `non_smile/` with a manifest keeping their groups."""
    root = Path(root)
    if root.exists():
        raise FinetuneSetError(f"{root} already exists: a set is never overwritten (delete it first)")
    rows = []
    for it in items:
        rel = f"{'smile' if it.smile else 'non_smile'}/{Path(it.path).name}"
        if (root / rel).exists():
            raise FinetuneSetError(f"two images named {rel}: give them distinct file names")
        copy_atomic(it.path, root / rel)
        rows.append({"path": rel, "label": rel.split("/")[0], "group": it.group, "consent_ref": consent_ref})
    write_manifest(root, rows, fields=["path", "label", "group", "consent_ref"])
    return root
