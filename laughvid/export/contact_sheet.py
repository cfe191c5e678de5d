"""Contact sheets: images a person must look at side by side (label checks, faces to link to a
participant), each captioned under its tile. One layout for every sheet the tool draws."""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

LINE_HEIGHT = 16  # caption pixels per text line


def caption_height(lines: int) -> int:
    return LINE_HEIGHT * lines


def tile_grid(tiles: Sequence[np.ndarray], captions: Sequence[Sequence[str]], tile: int, columns: int) -> np.ndarray:
    """Tiles (all grey or all RGB, resized to `tile` px) in rows of `columns` on white, each with its
    caption lines under it; black text. Empty slots of the last row stay white."""
    lines = max((len(c) for c in captions), default=1)
    shape = (math.ceil(max(1, len(tiles)) / columns) * (tile + caption_height(lines)), columns * tile)
    colour = tiles[0].ndim == 3 if tiles else False
    sheet = np.full(shape + ((3,) if colour else ()), 255, np.uint8)
    for i, (image, caption) in enumerate(zip(tiles, captions, strict=False)):
        y, x = (i // columns) * (tile + caption_height(lines)), (i % columns) * tile
        sheet[y : y + tile, x : x + tile] = cv2.resize(image, (tile, tile), interpolation=cv2.INTER_LINEAR)
        for line, text in enumerate(caption):
            cv2.putText(
                sheet,
                text,
                (x + 2, y + tile + 12 + LINE_HEIGHT * line),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.37,
                (0, 0, 0) if colour else 0,
                1,
                cv2.LINE_AA,
            )
    return sheet
