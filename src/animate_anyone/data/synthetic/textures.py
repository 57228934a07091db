"""Cloth textures: patterns, chest prints, belts and straps, drawn in a garment's own (u, v) frame.

A texture is an (H, W, 3) uint8 image whose rows run along the part (shoulders to hips, or along
the bone) and whose columns run across it. The renderer maps it onto the part with the part's
bones, so a stripe or a print stays glued to the part whatever the part does.
"""

from __future__ import annotations

import colorsys

import cv2
import numpy as np

PATTERNS = ("plain", "stripes", "vertical_stripes", "diagonal", "checks", "dots", "gradient", "plaid")
LOGOS = ("star", "heart", "circle", "ring", "triangle", "diamond", "bolt", "letter", "band", "smiley")
TEXTURE_DENSITY = 320  # texture pixels per world unit: pattern sizes agree between parts


def random_colour(rng: np.random.Generator, saturation=(0.25, 0.95), value=(0.3, 0.95)) -> tuple[int, int, int]:
    rgb = colorsys.hsv_to_rgb(rng.uniform(0, 1), rng.uniform(*saturation), rng.uniform(*value))
    return tuple(int(round(255 * c)) for c in rgb)


def contrasting(colour: tuple[int, int, int], rng: np.random.Generator) -> tuple[int, int, int]:
    """A colour that stands out against `colour` (another hue, or much lighter/darker)."""
    h, s, v = colorsys.rgb_to_hsv(*(c / 255 for c in colour))
    if rng.random() < 0.5:
        h = (h + rng.uniform(0.25, 0.75)) % 1
        v = float(np.clip(v + rng.uniform(-0.3, 0.3), 0.25, 1))
    else:
        v = 0.95 if v < 0.55 else 0.15
        s = rng.uniform(0, 0.5)
    return tuple(int(round(255 * c)) for c in colorsys.hsv_to_rgb(h, s, v))


def shade(colour, factor: float) -> tuple[int, int, int]:
    return tuple(int(np.clip(c * factor, 0, 255)) for c in colour)


def pattern(kind: str, size: tuple[int, int], colours: list[tuple[int, int, int]], period: float,
            rng: np.random.Generator) -> np.ndarray:
    """(H, W, 3) uint8 texture of `size` (W, H); `period` in texture pixels."""
    width, height = size
    v, u = np.mgrid[0:height, 0:width].astype(np.float32)
    first, second = np.array(colours[0], np.float32), np.array(colours[1], np.float32)
    offset = rng.uniform(0, period)
    duty = rng.uniform(0.3, 0.6)
    if kind == "plain":
        mix = np.zeros_like(u)
    elif kind == "stripes":
        mix = (((v + offset) / period) % 1 < duty).astype(np.float32)
    elif kind == "vertical_stripes":
        mix = (((u + offset) / period) % 1 < duty).astype(np.float32)
    elif kind == "diagonal":
        mix = (((u + v + offset) / period) % 1 < duty).astype(np.float32)
    elif kind == "checks":
        mix = (((u // (period / 2)) + ((v + offset) // (period / 2))) % 2).astype(np.float32)
    elif kind == "dots":
        row = np.floor((v + offset) / period)
        du = ((u + (row % 2) * period / 2) % period) - period / 2
        dv = ((v + offset) % period) - period / 2
        mix = (np.hypot(du, dv) < period * rng.uniform(0.2, 0.32)).astype(np.float32)
    elif kind == "gradient":
        mix = np.broadcast_to(np.linspace(0, 1, height, dtype=np.float32)[:, None], (height, width))
    elif kind == "plaid":
        across = (((u + offset) / period) % 1 < 0.3).astype(np.float32)
        down = (((v + offset) / period) % 1 < 0.3).astype(np.float32)
        mix = 0.5 * across + 0.5 * down
    else:
        raise ValueError(f"unknown pattern {kind!r}")
    image = first * (1 - mix[..., None]) + second * mix[..., None]
    return np.ascontiguousarray(image.clip(0, 255).astype(np.uint8))


def random_pattern(rng: np.random.Generator, size: tuple[int, int], base=None) -> tuple[np.ndarray, dict]:
    """A random pattern and the recipe that made it (kind, colours, period) for matching pieces."""
    base = base or random_colour(rng)
    recipe = dict(kind=str(rng.choice(PATTERNS, p=[0.22, 0.14, 0.08, 0.1, 0.14, 0.12, 0.12, 0.08])),
                  colours=[base, contrasting(base, rng)], period=float(rng.uniform(10, 26)))
    return pattern(recipe["kind"], size, recipe["colours"], recipe["period"], rng), recipe


def draw_logo(texture: np.ndarray, kind: str, centre: tuple[float, float], radius: float,
              colour, rng: np.random.Generator) -> None:
    """Draw a chest print in place (centre and radius in texture pixels)."""
    cx, cy = centre
    r = radius
    colour = tuple(int(c) for c in colour)
    if kind == "star":
        angles = np.pi / 2 + np.arange(10) * np.pi / 5
        radii = np.where(np.arange(10) % 2 == 0, r, r * 0.45)
        cv2.fillPoly(texture, [_points(cx + radii * np.cos(angles), cy - radii * np.sin(angles))], colour, cv2.LINE_AA)
    elif kind == "heart":
        cv2.circle(texture, (int(cx - r * 0.45), int(cy - r * 0.2)), int(r * 0.5), colour, -1, cv2.LINE_AA)
        cv2.circle(texture, (int(cx + r * 0.45), int(cy - r * 0.2)), int(r * 0.5), colour, -1, cv2.LINE_AA)
        cv2.fillPoly(texture, [_points([cx - r * 0.93, cx + r * 0.93, cx], [cy - r * 0.05, cy - r * 0.05, cy + r])],
                     colour, cv2.LINE_AA)
    elif kind == "circle":
        cv2.circle(texture, (int(cx), int(cy)), int(r), colour, -1, cv2.LINE_AA)
    elif kind == "ring":
        cv2.circle(texture, (int(cx), int(cy)), int(r * 0.8), colour, max(2, int(r * 0.3)), cv2.LINE_AA)
    elif kind == "triangle":
        cv2.fillPoly(texture, [_points([cx - r, cx + r, cx], [cy + r * 0.8, cy + r * 0.8, cy - r])], colour, cv2.LINE_AA)
    elif kind == "diamond":
        cv2.fillPoly(texture, [_points([cx, cx + r * 0.75, cx, cx - r * 0.75], [cy - r, cy, cy + r, cy])], colour, cv2.LINE_AA)
    elif kind == "bolt":
        xs = np.array([0.2, -0.5, 0.0, -0.3, 0.5, 0.0, 0.3]) * r + cx
        ys = np.array([-1, 0.1, 0.1, 1, -0.15, -0.15, -1]) * r + cy
        cv2.fillPoly(texture, [_points(xs, ys)], colour, cv2.LINE_AA)
    elif kind == "letter":
        text = str(rng.choice(list("ABEHKMNRSXZ0123456789")))
        scale = r / 14
        (w, h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, scale, max(1, int(r / 5)))
        cv2.putText(texture, text, (int(cx - w / 2), int(cy + h / 2)), cv2.FONT_HERSHEY_DUPLEX, scale, colour,
                    max(1, int(r / 5)), cv2.LINE_AA)
    elif kind == "band":
        texture[int(cy - r * 0.35):int(cy + r * 0.35)] = colour
    elif kind == "smiley":
        cv2.circle(texture, (int(cx), int(cy)), int(r), colour, -1, cv2.LINE_AA)
        dark = shade(colour, 0.3)
        for dx in (-0.35, 0.35):
            cv2.circle(texture, (int(cx + dx * r), int(cy - 0.25 * r)), max(1, int(r * 0.13)), dark, -1, cv2.LINE_AA)
        cv2.ellipse(texture, (int(cx), int(cy + 0.1 * r)), (int(r * 0.5), int(r * 0.45)), 0, 20, 160, dark,
                    max(1, int(r * 0.12)), cv2.LINE_AA)
    else:
        raise ValueError(f"unknown logo {kind!r}")


def draw_belt(texture: np.ndarray, top: float, height: float, colour, buckle) -> None:
    """A belt across the texture at rows [top, top + height) with a buckle in the middle."""
    width = texture.shape[1]
    texture[int(top):int(top + height)] = colour
    cx, cy = width // 2, int(top + height / 2)
    half = max(2, int(height * 0.7))
    cv2.rectangle(texture, (cx - half, cy - half), (cx + half, cy + half), tuple(int(c) for c in buckle),
                  max(1, int(height / 4)))


def draw_strap(texture: np.ndarray, from_left: bool, thickness: float, colour) -> None:
    """A bag strap from one shoulder to the opposite hip."""
    height, width = texture.shape[:2]
    start, end = ((0.15, 0.0), (0.9, 1.0)) if from_left else ((0.85, 0.0), (0.1, 1.0))
    cv2.line(texture, (int(start[0] * width), int(start[1] * height)), (int(end[0] * width), int(end[1] * height)),
             tuple(int(c) for c in colour), max(2, int(thickness)), cv2.LINE_AA)


def _points(xs, ys) -> np.ndarray:
    return np.stack([np.asarray(xs), np.asarray(ys)], 1).round().astype(np.int32)
