"""Lay out one split of a training data set as a `smile/` + `non_smile/` folder of symlinks, after
the same deduplication `laughvid train` applies, so `laughvid eval-images` can score exactly the
held-out images a model card reports (and draw their label-check sheet):

    .venv/bin/python scripts/held_out_folder.py --data ../shared/data --source smilesmiled --out /tmp/smile_test
    .venv/bin/laughvid eval-images /tmp/smile_test --faces crops --disagreements /tmp/smile_check.png --top 96

Symlinks only: no image is copied (the data sets' terms forbid redistributing them; keep the folder
out of the repository). Link names are `<class folder>_<file name>`, unique within each data set.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from laughvid.training.pipeline import SOURCE_KINDS, DataSource, load_sources  # noqa: E402

FOLDERS = {"fer2013": "FER2013", "smilesmiled": "SMILEsmileD", "ckplus": "CK+48"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with FER2013/, SMILEsmileD/, CK+48/")
    parser.add_argument("--source", choices=[k for k in SOURCE_KINDS if k in FOLDERS], required=True)
    parser.add_argument("--split", default="test", choices=("train", "validation", "test"))
    parser.add_argument("--out", type=Path, required=True, help="new folder to create")
    args = parser.parse_args()
    if args.out.exists():
        parser.error(f"{args.out} exists: give a new folder")
    # All three sets, as in training: deduplication across them decides what is held out.
    sources = [DataSource(kind, args.data / folder) for kind, folder in FOLDERS.items()]
    splits, _ = load_sources(sources, log=lambda line: print(line, file=sys.stderr))
    items = [it for it in splits[args.split] if it.source == args.source]
    for label in ("smile", "non_smile"):
        (args.out / label).mkdir(parents=True)
    for item in items:
        path = Path(item.path).resolve()
        (args.out / ("smile" if item.smile else "non_smile") / f"{path.parent.name}_{path.name}").symlink_to(path)
    print(f"{args.out}: {len(items)} images ({sum(it.smile for it in items)} smile) of {args.source} {args.split}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
