"""Backgrounds drawn in world coordinates, once per clip, then cropped per frame by the camera.

Because the scene lives in the world (not on the screen), camera pans and zooms move it the way a
real camera would: the floor line, windows and trees slide and scale with the framing.
"""

from __future__ import annotations

import cv2
import numpy as np

from animate_anyone.data.synthetic.character import Background
from animate_anyone.data.synthetic.textures import shade

SKY = ((150, 200, 240), (225, 240, 255))


def draw_background(background: Background, region: tuple[float, float, float, float], density: float) -> np.ndarray:
    """(H, W, 3) uint8 image of the world `region` (x0, y0, x1, y1) at `density` pixels per world unit."""
    x0, y0, x1, y1 = region
    width, height = max(2, int(np.ceil((x1 - x0) * density))), max(2, int(np.ceil((y1 - y0) * density)))
    ys = y0 + (np.arange(height, dtype=np.float32)[:, None] + 0.5) / density
    xs = x0 + (np.arange(width, dtype=np.float32)[None, :] + 0.5) / density
    colours = [np.array(c, np.float32) for c in background.colours]
    kind = background.kind

    def px(x: float, y: float) -> tuple[int, int]:
        return int(round((x - x0) * density)), int(round((y - y0) * density))

    def size(length: float) -> int:
        return max(1, int(round(length * density)))

    if kind == "plain":
        image = np.broadcast_to(colours[0], (height, width, 3)).copy()
    elif kind == "gradient":
        mix = np.clip((ys + 1.5) / 1.8, 0, 1)[..., None]
        image = np.broadcast_to(colours[0] * (1 - mix) + colours[1] * mix, (height, width, 3)).copy()
    elif kind == "studio":
        distance = np.clip(np.hypot(xs, (ys + 0.55) * 1.2) / 1.4, 0, 1)[..., None]
        image = colours[0] * 1.15 * (1 - distance) + colours[0] * 0.55 * distance
    elif kind == "room":
        image = np.empty((height, width, 3), np.float32)
        wall = np.broadcast_to(ys < 0, (height, width))
        image[:] = colours[0]
        if int(colours[1].sum()) % 3 == 0:  # wallpaper stripes, for about a third of the rooms
            stripes = np.broadcast_to(((xs * 8) % 1 < 0.5), (height, width))
            image[stripes & wall] = colours[0] * 0.88
        image[~wall] = colours[2]
    elif kind == "outdoor":
        mix = np.clip((ys + 1.6) / (1.6 + background.horizon), 0, 1)[..., None]
        sky = np.array(SKY[0], np.float32) * (1 - mix) + np.array(SKY[1], np.float32) * mix
        image = np.broadcast_to(sky, (height, width, 3)).copy()
        ground = np.broadcast_to(ys >= background.horizon, (height, width))
        image[ground] = colours[2]
    else:
        raise ValueError(f"unknown background {kind!r}")
    image = np.ascontiguousarray(image.clip(0, 255).astype(np.uint8))
    aa = cv2.LINE_AA
    for shape, colour, ex0, ey0, ex1, ey1 in background.elements:
        colour = tuple(int(c) for c in colour) if not isinstance(colour, str) else colour
        if shape == "floor":
            floor = tuple(int(c) for c in background.colours[2])
            cv2.rectangle(image, px(x0, -0.04), px(x1, 0.0), shade(background.colours[0], 0.7), -1)
            step = 0.18
            if colour == "planks":
                for y in np.arange(0.06, y1, 0.07):
                    cv2.line(image, px(x0, y), px(x1, y), shade(floor, 0.8), size(0.006), aa)
            elif colour == "tiles":
                for x in np.arange(np.floor(x0 / step) * step, x1, step):
                    cv2.line(image, px(x, 0), px(x * 1.6, y1), shade(floor, 0.82), size(0.006), aa)
                for y in (0.08, 0.2, 0.36):
                    cv2.line(image, px(x0, y), px(x1, y), shade(floor, 0.82), size(0.006), aa)
        elif shape == "window":
            cv2.rectangle(image, px(ex0, ey0), px(ex1, ey1), (240, 240, 235), -1)
            inset = 0.02
            cv2.rectangle(image, px(ex0 + inset, ey0 + inset), px(ex1 - inset, ey1 - inset), SKY[0], -1)
            cv2.line(image, px((ex0 + ex1) / 2, ey0), px((ex0 + ex1) / 2, ey1), (240, 240, 235), size(0.015))
            cv2.line(image, px(ex0, (ey0 + ey1) / 2), px(ex1, (ey0 + ey1) / 2), (240, 240, 235), size(0.015))
        elif shape == "frame":
            cv2.rectangle(image, px(ex0, ey0), px(ex1, ey1), shade(colour, 0.5), -1)
            cv2.rectangle(image, px(ex0 + 0.02, ey0 + 0.02), px(ex1 - 0.02, ey1 - 0.02), colour, -1)
            cv2.circle(image, px((ex0 + ex1) / 2, (ey0 + ey1) / 2), size(min(ex1 - ex0, ey1 - ey0) / 4),
                       shade(colour, 1.4), -1, aa)
        elif shape == "door":
            cv2.rectangle(image, px(ex0, ey0), px(ex1, ey1), colour, -1)
            cv2.rectangle(image, px(ex0, ey0), px(ex1, ey1), shade(colour, 0.6), size(0.01))
            cv2.circle(image, px(ex1 - 0.04, (ey0 + ey1) / 2), size(0.012), (220, 200, 90), -1, aa)
        elif shape == "plant":
            cx = (ex0 + ex1) / 2
            cv2.fillPoly(image, [np.array([px(cx - 0.07, -0.16), px(cx + 0.07, -0.16), px(cx + 0.05, 0), px(cx - 0.05, 0)])],
                         colour, aa)
            for dx, dy, r in ((0, -0.3, 0.1), (-0.07, -0.24, 0.07), (0.07, -0.25, 0.07), (0, ey0 * 0.7, 0.06)):
                cv2.circle(image, px(cx + dx, dy), size(r), (60, 140, 70), -1, aa)
        elif shape == "shelf":
            cv2.rectangle(image, px(ex0, ey0), px(ex1, ey1), shade(colour, 0.7), size(0.012))
            for i, y in enumerate(np.linspace(ey0, ey1, 4)[1:-1]):
                cv2.line(image, px(ex0, y), px(ex1, y), shade(colour, 0.7), size(0.01))
                for k in range(3):
                    bx = ex0 + 0.03 + k * (ex1 - ex0 - 0.06) / 3
                    cv2.rectangle(image, px(bx, y - 0.07), px(bx + 0.03, y), shade(colour, 0.6 + 0.3 * ((i + k) % 2)), -1)
        elif shape == "hill":
            centre = px((ex0 + ex1) / 2, background.horizon)
            cv2.ellipse(image, centre, (size(ex1 - ex0), size(ey0 * 0.6)), 0, 180, 360, colour, -1, aa)
        elif shape == "tree":
            base = background.horizon + 0.04
            cv2.rectangle(image, px(ex0 - 0.02, base - ey0 * 0.8), px(ex0 + 0.02, base), (100, 70, 45), -1)
            cv2.circle(image, px(ex0, base - ey0 * 0.9), size(ey0 * 0.35), shade((70, 150, 70), 0.7 + ey0), -1, aa)
        elif shape == "cloud":
            cy = -1.25 + ey0 * 0.5
            for dx, r in ((0, 0.07), (0.08, 0.055), (-0.08, 0.05)):
                cv2.circle(image, px(ex0 + dx, cy), size(r), (250, 250, 250), -1, aa)
        elif shape == "house":
            top = background.horizon - ey0
            cv2.rectangle(image, px(ex0, top), px(ex1, background.horizon), colour, -1)
            roof = np.array([px(ex0 - 0.03, top), px(ex1 + 0.03, top), px((ex0 + ex1) / 2, top - ey0 * 0.5)])
            cv2.fillPoly(image, [roof], shade(colour, 0.6), aa)
        elif shape == "sun":
            cv2.circle(image, px(ex0, ey0), size(ex1), colour, -1, aa)
    return image
