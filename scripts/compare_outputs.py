"""Compare two `laughvid analyze --out` folders file by file (timeline.csv, segments.csv).

Used to prove a refactor changed no behaviour: analyse the same videos before and after into two
folders, then `python scripts/compare_outputs.py BEFORE AFTER`. Prints one line per compared file
and exits 1 when any differs (analysis.json is left out: it names the store path and the times).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

COMPARED = ("segments.csv", "timeline.csv")


def compare(before: Path, after: Path) -> tuple[int, list[str]]:
    """(files compared, names of those that differ or exist on one side only)."""
    differing = []
    names = sorted(
        {p.relative_to(before) for p in before.rglob("*") if p.name in COMPARED}
        | {p.relative_to(after) for p in after.rglob("*") if p.name in COMPARED}
    )
    for rel in names:
        a, b = before / rel, after / rel
        same = a.is_file() and b.is_file() and a.read_bytes() == b.read_bytes()
        print(f"{'same' if same else 'DIFFERS'}  {rel}")
        if not same:
            differing.append(str(rel))
    return len(names), differing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args()
    total, differing = compare(args.before, args.after)
    print(f"{total - len(differing)} of {total} files identical")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
