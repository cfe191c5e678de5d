"""Build the shipped sample video(s) from public-domain material only.

    .venv/bin/python sample_videos/make_samples.py   # rewrites sample_videos/*.mp4

Why generated: a new user should see a timeline with contrast (laughs, straight faces, nobody in
view) before uploading anything, and we may only ship media we made ourselves. The face is
`skimage.data.astronaut()` (NASA portrait of Eileen Collins, public domain). Its "straight face"
is the same photo with the smiling mouth painted out (OpenCV inpainting) and closed lips drawn in.
Two copies of that person (one mirrored, smaller) sit in a 1280x720 "room"; a virtual camera
pans and zooms over it, so faces move, change size and leave the frame; a card covers one face.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
from skimage.data import astronaut

HERE = Path(__file__).resolve().parent
OUT_SIZE = (640, 360)
WORLD = (1280, 720)
FPS = 24
SECONDS = 16.0
PATCH = (96, 0, 352, 256)  # head-and-shoulders square of the photo (x0, y0, x1, y1)
MOUTH_CENTRE, MOUTH_AXES = (223, 150), (34, 18)  # mouth and smile creases, painted out
LIPS_CENTRE = (223, 147)
FADE_S = 0.25  # expression changes blend over this long, like a real face


def straight_face(photo: np.ndarray) -> np.ndarray:
    """The photo with the smile removed: mouth inpainted from the surrounding skin, lips closed."""
    mask = np.zeros(photo.shape[:2], np.uint8)
    cv2.ellipse(mask, MOUTH_CENTRE, MOUTH_AXES, 0, 0, 360, 255, -1)
    filled = cv2.inpaint(photo, mask, 9, cv2.INPAINT_TELEA)
    blurred = cv2.GaussianBlur(filled, (0, 0), 1.0)
    filled = np.where(mask[..., None] > 0, blurred, filled)
    cx, cy = LIPS_CENTRE
    cv2.ellipse(filled, (cx, cy + 2), (13, 3), 0, 0, 180, (175, 105, 105), -1, cv2.LINE_AA)
    cv2.line(filled, (cx - 13, cy + 1), (cx + 13, cy + 1), (125, 60, 65), 2, cv2.LINE_AA)
    return filled


@dataclass(frozen=True)
class Person:
    centre: tuple[int, int]  # where the patch sits in the world
    size: int  # patch side in world pixels
    mirrored: bool
    smiles: tuple[tuple[float, float], ...]  # seconds when smiling
    covered: tuple[tuple[float, float], ...] = ()  # seconds when a card hides the face


PEOPLE = (
    Person((330, 330), 330, False, smiles=((2.0, 5.0), (8.5, 10.5), (14.0, 15.5))),
    Person((880, 380), 300, True, smiles=((6.5, 9.0),), covered=((10.0, 11.5),)),
)

# Camera keyframes: (time s, viewport centre x, y, viewport width in world pixels); linear in between.
CAMERA = (
    (0.0, 340, 330, 760),
    (5.0, 420, 340, 820),
    (6.5, 620, 370, 1100),
    (11.0, 620, 370, 1100),
    (12.0, 1040, 150, 480),  # pans up to the empty corner: nobody in view
    (13.0, 1040, 150, 480),
    (14.0, 360, 330, 760),
    (16.0, 330, 330, 700),
)


def smile_weight(t: float, spans: tuple[tuple[float, float], ...]) -> float:
    """0 = straight face, 1 = full smile, ramping over FADE_S at each change."""
    weight = 0.0
    for a, b in spans:
        weight = max(weight, min(1.0, (t - a) / FADE_S + 1, (b - t) / FADE_S + 1) if a - FADE_S < t < b + FADE_S else 0.0)
    return max(0.0, weight)


def camera(t: float) -> tuple[float, float, float]:
    times = [k[0] for k in CAMERA]
    return tuple(float(np.interp(t, times, [k[i] for k in CAMERA])) for i in (1, 2, 3))


def room() -> np.ndarray:
    """A plain wall with a soft gradient and a shelf line, so camera motion is visible."""
    width, height = WORLD
    ys, xs = np.mgrid[0:height, 0:width]
    wall = 150 + 40 * np.sin(xs / 170.0) * np.cos(ys / 230.0)
    world = np.stack([wall * 0.95, wall * 0.9, wall * 0.8], -1).astype(np.uint8)
    cv2.rectangle(world, (0, 560), (width, 575), (90, 70, 50), -1)
    cv2.rectangle(world, (1060, 60), (1200, 230), (60, 90, 120), -1)  # a picture frame in the empty corner
    return world


def render(t: float, world: np.ndarray, faces: dict[bool, tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    frame = world.copy()
    for person in PEOPLE:
        smile, straight = faces[person.mirrored]
        w = smile_weight(t, person.smiles)
        patch = cv2.addWeighted(smile, w, straight, 1 - w, 0)
        patch = cv2.resize(patch, (person.size, person.size), interpolation=cv2.INTER_AREA)
        x0, y0 = person.centre[0] - person.size // 2, person.centre[1] - person.size // 2
        frame[y0 : y0 + person.size, x0 : x0 + person.size] = patch
        if any(a <= t < b for a, b in person.covered):
            cv2.rectangle(frame, (x0 + 20, y0 - 10), (x0 + person.size - 20, y0 + int(person.size * 0.75)), (230, 225, 210), -1)
    cx, cy, view_w = camera(t)
    view_h = view_w * OUT_SIZE[1] / OUT_SIZE[0]
    x0 = int(np.clip(cx - view_w / 2, 0, WORLD[0] - view_w))
    y0 = int(np.clip(cy - view_h / 2, 0, WORLD[1] - view_h))
    view = frame[y0 : y0 + int(view_h), x0 : x0 + int(view_w)]
    return cv2.resize(view, OUT_SIZE, interpolation=cv2.INTER_AREA)


def make_two_people(path: Path) -> Path:
    photo = astronaut()
    x0, y0, x1, y1 = PATCH
    smile, straight = photo[y0:y1, x0:x1], straight_face(photo)[y0:y1, x0:x1]
    faces = {False: (smile, straight), True: (smile[:, ::-1].copy(), straight[:, ::-1].copy())}
    world = room()
    writer = imageio_ffmpeg.write_frames(
        str(path),
        OUT_SIZE,
        fps=FPS,
        codec="libx264",
        quality=None,
        pix_fmt_out="yuv420p",
        macro_block_size=8,
        output_params=["-crf", "30", "-preset", "slow", "-movflags", "+faststart"],
    )
    writer.send(None)
    for i in range(round(SECONDS * FPS)):
        writer.send(np.ascontiguousarray(render(i / FPS, world, faces)))
    writer.close()
    return path


if __name__ == "__main__":
    out = make_two_people(HERE / "two_people_astronaut.mp4")
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")
