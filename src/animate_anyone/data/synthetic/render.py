"""Drawing a character around its skeleton, frame by frame.

Every body part is a shape attached to its bones: limbs are capsules from joint to joint, the torso
is the box between shoulders and hips, the head carries the face drawn on the 68 face points. A
textured part maps its garment texture with the affine (limbs) or perspective (torso, skirt) map of
its bones, so the texture moves rigidly with the part. Parts are drawn far to near by the depth (z)
of their bones, so the far arm goes behind the torso and swaps sides when the body turns. Frames
are drawn at `SUPERSAMPLE`× the output size and area-averaged down (anti-aliasing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from animate_anyone.data.synthetic.background import draw_background
from animate_anyone.data.synthetic.body import SIDES, Skeleton
from animate_anyone.data.synthetic.character import Character
from animate_anyone.data.synthetic.textures import shade

SUPERSAMPLE = 2
_SHIFT = 4  # cv2 fixed-point bits: sub-pixel polygon vertices
_EYE_WHITE, _MOUTH_INSIDE = (246, 246, 242), (90, 28, 32)
# HAIR_STYLES -> how far down the sides the hair reaches (head-local y)
_HAIR_SIDES = {"short": -0.12, "buzz": -0.15, "bob": 0.55, "long": 0.45, "ponytail": -0.05, "bun": -0.05,
               "afro": 0.3, "spiky": -0.12}


@dataclass
class View:
    """The camera of every frame: the world point at the frame's centre (F, 2) and the world height shown (F,)."""

    centre: np.ndarray
    height: np.ndarray

    def transform(self, frame: int, size: tuple[int, int]) -> tuple[float, np.ndarray]:
        """(pixels per world unit, offset): pixel = world_xy * scale + offset, for a canvas of `size` (W, H)."""
        scale = size[1] / self.height[frame]
        return scale, np.array(size, dtype=np.float64) / 2 - self.centre[frame] * scale


def camera_path(motion, skeleton: Skeleton, aspect: float) -> View:
    """Follow the pelvis sideways (with lag, by `motion.follow`), keep it in the middle 60% of the frame."""
    pelvis_x = skeleton.pelvis[:, 0]
    lagged = np.empty_like(pelvis_x)
    lagged[0] = pelvis_x[0]
    for f in range(1, len(pelvis_x)):
        lagged[f] = lagged[f - 1] + 0.15 * (pelvis_x[f] - lagged[f - 1])
    half_width = motion.view_height * aspect / 2
    x = np.clip(motion.follow * lagged + motion.camera_pan, pelvis_x - 0.6 * half_width, pelvis_x + 0.6 * half_width)
    return View(np.stack([x, motion.camera_y], axis=1), np.asarray(motion.view_height, dtype=np.float64))


class Canvas:
    """One supersampled frame being drawn, with its world -> pixel map."""

    def __init__(self, image: np.ndarray, scale: float, offset: np.ndarray):
        self.image, self.scale, self.offset = image, scale, offset
        self.line = max(1, int(round(0.0045 * scale)))

    def px(self, points: np.ndarray) -> np.ndarray:
        """World points (..., 2 or 3) -> pixel (..., 2)."""
        return np.asarray(points)[..., :2] * self.scale + self.offset

    def _fixed(self, polygon: np.ndarray) -> np.ndarray:
        return np.round(np.asarray(polygon) * (1 << _SHIFT)).astype(np.int32).reshape(-1, 1, 2)

    def fill(self, polygon: np.ndarray, colour, outline=None) -> None:
        if not np.isfinite(polygon).all():
            return
        cv2.fillPoly(self.image, [self._fixed(polygon)], tuple(int(c) for c in colour), cv2.LINE_8, _SHIFT)
        if outline is not None:
            self.stroke(polygon, outline, closed=True)

    def stroke(self, points: np.ndarray, colour, thickness: int | None = None, closed: bool = False) -> None:
        cv2.polylines(self.image, [self._fixed(points)], closed, tuple(int(c) for c in colour),
                      thickness or self.line, cv2.LINE_8, _SHIFT)

    def textured(self, texture: np.ndarray, source: np.ndarray, target: np.ndarray, polygon: np.ndarray,
                 outline=None) -> None:
        """Map `texture` by the affine (3 points) or perspective (4 points) map source -> target, inside `polygon`."""
        height, width = self.image.shape[:2]
        x0, y0 = np.floor(polygon.min(0)).astype(int)
        x1, y1 = np.ceil(polygon.max(0)).astype(int) + 1
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
        if x1 <= x0 or y1 <= y0 or not np.isfinite(target).all():
            return
        shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], dtype=np.float64)
        size = (int(x1 - x0), int(y1 - y0))
        if len(source) == 3:
            matrix = shift @ np.vstack([cv2.getAffineTransform(np.float32(source), np.float32(target)), [0, 0, 1]])
            warped = cv2.warpAffine(texture, matrix[:2], size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        else:
            matrix = shift @ cv2.getPerspectiveTransform(np.float32(source), np.float32(target))
            warped = cv2.warpPerspective(texture, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        mask = np.zeros((size[1], size[0]), np.uint8)
        cv2.fillPoly(mask, [self._fixed(polygon - (x0, y0))], 1, cv2.LINE_8, _SHIFT)
        region = self.image[y0:y1, x0:x1]
        np.copyto(region, warped, where=mask[..., None].astype(bool))
        if outline is not None:
            self.stroke(polygon, outline, closed=True)


def capsule(a: np.ndarray, b: np.ndarray, radius_a: float, radius_b: float, steps: int = 8) -> np.ndarray:
    """Outline (2·steps, 2) of a tapered capsule from pixel a to pixel b."""
    direction = _unit(b - a)
    normal = np.array([-direction[1], direction[0]])
    end = np.linspace(-np.pi / 2, np.pi / 2, steps)
    start = np.linspace(np.pi / 2, 3 * np.pi / 2, steps)
    tip = b + radius_b * (np.cos(end)[:, None] * direction + np.sin(end)[:, None] * normal)
    tail = a + radius_a * (np.cos(start)[:, None] * direction + np.sin(start)[:, None] * normal)
    return np.concatenate([tip, tail])


def ellipse(centre: np.ndarray, axes: tuple[float, float], angle: float, start: float = 0.0,
            stop: float = 2 * np.pi, steps: int = 28) -> np.ndarray:
    t = np.linspace(start, stop, steps)
    local = np.stack([axes[0] * np.cos(t), axes[1] * np.sin(t)], 1)
    c, s = np.cos(angle), np.sin(angle)
    return centre + local @ np.array([[c, s], [-s, c]])


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.hypot(*vector))
    return vector / norm if norm > 1e-6 else np.array([0.0, 1.0])


def outline_of(colour_or_texture) -> tuple[int, int, int]:
    colour = np.asarray(colour_or_texture, dtype=np.float64)
    if colour.ndim == 3:
        colour = colour.reshape(-1, 3).mean(0)
    return shade(colour, 0.55)


# ----------------------------------------------------------------------------- whole frames
def render_frames(character: Character, skeleton: Skeleton, view: View, width: int, height: int) -> np.ndarray:
    """(F, H, W, 3) uint8: the character over its background, every frame of `skeleton`."""
    size = (width * SUPERSAMPLE, height * SUPERSAMPLE)
    background, region, density = _background(character, view, size)
    frames = np.empty((len(view.height), height, width, 3), dtype=np.uint8)
    for f in range(len(frames)):
        scale, offset = view.transform(f, size)
        affine = np.array([[scale / density, 0, region[0] * scale + offset[0]],
                           [0, scale / density, region[1] * scale + offset[1]]])
        image = cv2.warpAffine(background, affine, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        canvas = Canvas(image, scale, offset)
        _shadow(canvas, skeleton, f)
        _draw_character(canvas, character, skeleton, f)
        frames[f] = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    return frames


def render_character_masks(character: Character, skeleton: Skeleton, view: View, width: int,
                           height: int) -> np.ndarray:
    """(F, H, W) bool: the pixels of `render_frames` that the character covers at least half of (its
    shadow is background). Each frame's character is drawn twice, over black and over white; a
    supersampled pixel is covered where either drawing changed it."""
    size = (width * SUPERSAMPLE, height * SUPERSAMPLE)
    masks = np.empty((len(view.height), height, width), dtype=bool)
    for f in range(len(masks)):
        scale, offset = view.transform(f, size)
        covered = np.zeros((size[1], size[0]), dtype=bool)
        for blank in (0, 255):
            image = np.full((size[1], size[0], 3), blank, dtype=np.uint8)
            _draw_character(Canvas(image, scale, offset), character, skeleton, f)
            covered |= (image != blank).any(axis=2)
        coverage = cv2.resize(covered.astype(np.float32), (width, height), interpolation=cv2.INTER_AREA)
        masks[f] = coverage >= 0.5
    return masks


def _draw_character(canvas: Canvas, character: Character, skeleton: Skeleton, f: int) -> None:
    for _, draw in sorted(character_parts(canvas, character, skeleton, f), key=lambda part: part[0]):
        draw()


def _background(character: Character, view: View, size: tuple[int, int]):
    """The clip's background image, its world region and its pixels per world unit."""
    half_h = view.height / 2
    half_w = half_h * size[0] / size[1]
    region = (float((view.centre[:, 0] - half_w).min()) - 0.05, float((view.centre[:, 1] - half_h).min()) - 0.05,
              float((view.centre[:, 0] + half_w).max()) + 0.05, float((view.centre[:, 1] + half_h).max()) + 0.05)
    density = float(size[1] / view.height.min())
    return draw_background(character.background, region, density), region, density


def _shadow(canvas: Canvas, skeleton: Skeleton, f: int) -> None:
    feet = skeleton.body[f, [10, 13]]
    centre = canvas.px(np.array([feet[:, 0].mean(), 0.0]))
    axes = ((abs(feet[0, 0] - feet[1, 0]) / 2 + 0.12) * canvas.scale, 0.028 * canvas.scale)
    polygon = ellipse(centre, axes, 0.0)
    x0, y0 = np.maximum(np.floor(polygon.min(0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(polygon.max(0)).astype(int) + 1, canvas.image.shape[1::-1])
    if x1 <= x0 or y1 <= y0:
        return
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(mask, [canvas._fixed(polygon - (x0, y0))], 1, cv2.LINE_8, _SHIFT)
    region = canvas.image[y0:y1, x0:x1]
    region[mask > 0] = (region[mask > 0] * 0.78).astype(np.uint8)


# ----------------------------------------------------------------------------- the parts of a character
Part = tuple[float, Callable[[], None]]


def character_parts(canvas: Canvas, ch: Character, sk: Skeleton, f: int) -> list[Part]:
    """(depth, draw) for every part of the character in frame `f`; draw them in increasing depth."""
    p = ch.proportions
    body = sk.body[f]
    parts: list[Part] = []
    torso_depth = (body[1, 2] + sk.pelvis[f, 2]) / 2 - 0.015

    def limb(a3, b3, radius_a, radius_b, texture, colour, depth):
        def draw():
            a, b = canvas.px(a3), canvas.px(b3)
            ra, rb = radius_a * canvas.scale, radius_b * canvas.scale
            polygon = capsule(a, b, ra, rb)
            if texture is None:
                canvas.fill(polygon, colour, outline_of(colour))
                return
            direction = _unit(b - a)
            normal = np.array([-direction[1], direction[0]]) * max(ra, rb)
            start, end = a - direction * ra, b + direction * rb
            h, w = texture.shape[:2]
            canvas.textured(texture, np.array([(0, 0), (w, 0), (0, h)]), np.array([start + normal, start - normal, end + normal]),
                            polygon, outline_of(texture))
        parts.append((depth, draw))

    for i, side in enumerate(SIDES):
        shoulder, elbow, wrist = (body[k] for k in ((5, 6, 7) if side > 0 else (2, 3, 4)))
        hip, knee, ankle = (body[k] for k in ((11, 12, 13) if side > 0 else (8, 9, 10)))
        r = p.arm_radius
        sleeve_up = ch.sleeve if ch.sleeves != "none" else None
        sleeve_down = ch.sleeve if ch.sleeves == "long" else None
        upper_depth = (shoulder[2] + elbow[2]) / 2
        fore_depth = (elbow[2] + wrist[2]) / 2 + 0.001
        limb(shoulder, elbow, r * 1.12, r, sleeve_up, ch.skin, upper_depth)
        limb(elbow, wrist, r * (1.0 if sleeve_down is not None else 0.9), r * 0.78, sleeve_down, ch.skin,
             max(fore_depth, upper_depth + 0.001))
        parts.append((max(wrist[2], fore_depth) + 0.002, lambda i=i: _hand(canvas, ch, sk.hands[f, i])))
        lr = p.leg_radius
        thigh_cloth = ch.legs if ch.lower in ("pants", "shorts") else None
        shin_cloth = ch.legs if ch.lower == "pants" else None
        thigh_depth = hip[2] - 0.04 + 0.2 * (knee[2] - hip[2])  # behind the hips unless lifted well forward
        shin_depth = max((knee[2] + ankle[2]) / 2 - 0.03, thigh_depth + 0.001)
        limb(hip, knee, lr * 1.15, lr * 0.9, thigh_cloth, ch.skin, thigh_depth)
        limb(knee, ankle, lr * (0.9 if shin_cloth is not None else 0.75), lr * 0.62, shin_cloth, ch.skin, shin_depth)
        parts.append((shin_depth + 0.001, lambda i=i: _shoe(canvas, ch, sk, f, i)))
    parts.append((torso_depth, lambda: _torso(canvas, ch, sk, f)))
    parts.append((torso_depth - 0.001, lambda: _neck(canvas, ch, sk, f)))
    if ch.lower == "skirt":
        parts.append((torso_depth - 0.005, lambda: _skirt(canvas, ch, sk, f)))
    if ch.scarf is not None:
        parts.append((torso_depth + 0.004, lambda: _scarf(canvas, ch, sk, f)))
    if ch.bag is not None:
        parts.append((sk.hips[f, ch.bag_side, 2] + 0.05, lambda: _bag(canvas, ch, sk, f)))
    head_depth = sk.head_centre[f, 2] + 0.03
    if ch.hair_style == "long" and ch.hat != "tophat":
        parts.append((head_depth - 0.15, lambda: _long_hair(canvas, ch, sk, f)))
    parts.append((head_depth, lambda: _head(canvas, ch, sk, f)))
    return parts


def _torso(canvas: Canvas, ch: Character, sk: Skeleton, f: int) -> None:
    p = ch.proportions
    rot, neck = sk.body_rotation[f], sk.body[f, 1]
    pelvis_rot = sk.body_rotation[f]  # the hips turn with the body; the pelvis tilt shows in the hip joints
    half_top = p.shoulder_half + 0.7 * p.arm_radius
    hip_axis = sk.hips[f, 0] - sk.hips[f, 1]
    hip_axis /= max(np.linalg.norm(hip_axis), 1e-9)
    half_bottom = p.hip_half + 0.9 * p.leg_radius
    front, back = p.torso_depth / 2, -p.torso_depth / 2
    corners = []
    for z in (front, back):
        top = [neck + rot @ np.array([x, -0.008, z]) for x in (-half_top, half_top)]
        hip_centre = (sk.hips[f, 0] + sk.hips[f, 1]) / 2 + pelvis_rot @ np.array([0, 0.045, z])
        bottom = [hip_centre + hip_axis * x for x in (half_bottom, -half_bottom)]
        corners.append([top[0], top[1], bottom[0], bottom[1]])  # right top, left top, left bottom, right bottom
    quad = canvas.px(np.array(corners[0]))
    outline_points = [canvas.px(np.array(corners[1]))]
    for k in (2, 5):  # round shoulders
        outline_points.append(ellipse(canvas.px(sk.body[f, k]), (p.arm_radius * 1.15 * canvas.scale,) * 2, 0.0, steps=12))
    hull = cv2.convexHull(np.concatenate([quad, *outline_points]).astype(np.float32))[:, 0]
    h, w = ch.torso.shape[:2]
    canvas.textured(ch.torso, np.array([(0, 0), (w, 0), (w, h), (0, h)]), quad, hull, outline_of(ch.torso))


def _neck(canvas: Canvas, ch: Character, sk: Skeleton, f: int) -> None:
    radius = ch.proportions.head_radius * 0.42 * canvas.scale
    polygon = capsule(canvas.px(sk.body[f, 1]), canvas.px(sk.head_centre[f]), radius, radius)
    canvas.fill(polygon, shade(ch.skin, 0.88), outline_of(ch.skin))


def _skirt(canvas: Canvas, ch: Character, sk: Skeleton, f: int) -> None:
    p = ch.proportions
    hips = canvas.px(sk.hips[f])  # left, right
    knees = canvas.px(sk.body[f, [12, 9]])
    up = canvas.px(sk.body[f, 1]) - (hips[0] + hips[1]) / 2
    across = _unit(hips[0] - hips[1])
    top_half = (p.hip_half + 1.2 * p.leg_radius) * canvas.scale
    centre = (hips[0] + hips[1]) / 2 - 0.08 * up
    top = [centre - across * top_half, centre + across * top_half]  # right, left
    bottom_y = knees[:, 1].mean() - 0.1 * abs(up[1])
    spread = np.abs(knees[:, 0] - centre[0]).max() + 1.8 * p.leg_radius * canvas.scale
    half_bottom = max(spread, top_half * 1.35)
    bottom = [np.array([centre[0] - half_bottom * np.sign(across[0] or 1), bottom_y]),
              np.array([centre[0] + half_bottom * np.sign(across[0] or 1), bottom_y])]
    quad = np.array([top[0], top[1], bottom[1], bottom[0]])
    h, w = ch.skirt.shape[:2]
    canvas.textured(ch.skirt, np.array([(0, 0), (w, 0), (w, h), (0, h)]), quad, quad, outline_of(ch.skirt))


def _scarf(canvas: Canvas, ch: Character, sk: Skeleton, f: int) -> None:
    p, rot, neck = ch.proportions, sk.body_rotation[f], sk.body[f, 1]
    ends = [canvas.px(neck + rot @ np.array([x, -0.02, 0.03])) for x in (-p.shoulder_half * 0.55, p.shoulder_half * 0.55)]
    width = 0.028 * canvas.scale
    canvas.fill(capsule(ends[0], ends[1], width, width), ch.scarf, outline_of(ch.scarf))
    tail_end = canvas.px(neck + rot @ np.array([p.shoulder_half * 0.3, 0.13, 0.05]))
    canvas.fill(capsule(ends[1] * 0.6 + ends[0] * 0.4, tail_end, width * 0.8, width * 0.7), shade(ch.scarf, 0.9),
                outline_of(ch.scarf))


def _bag(canvas: Canvas, ch: Character, sk: Skeleton, f: int) -> None:
    side = SIDES[ch.bag_side]
    rot = sk.body_rotation[f]
    centre = sk.hips[f, ch.bag_side] + rot @ np.array([side * 0.07, 0.02, ch.proportions.torso_depth / 2 + 0.02])
    corners = np.array([centre + rot @ np.array([x, y, 0]) for x, y in ((-0.055, -0.045), (0.055, -0.045),
                                                                        (0.055, 0.045), (-0.055, 0.045))])
    quad = canvas.px(corners)
    canvas.fill(quad, ch.bag, outline_of(ch.bag))
    flap = np.array([quad[0], quad[1], quad[1] * 0.55 + quad[2] * 0.45, quad[0] * 0.55 + quad[3] * 0.45])
    canvas.fill(flap, shade(ch.bag, 0.8), outline_of(ch.bag))


def _shoe(canvas: Canvas, ch: Character, sk: Skeleton, f: int, i: int) -> None:
    heel, toe = canvas.px(sk.heels[f, i]), canvas.px(sk.toes[f, i])
    radius = 0.027 * canvas.scale
    drop = np.array([0.0, 0.007 * canvas.scale])
    canvas.fill(capsule(heel + drop, toe + drop, radius, radius), ch.soles)
    canvas.fill(capsule(heel, toe, radius, radius * 0.95), ch.shoes, outline_of(ch.shoes))


def _hand(canvas: Canvas, ch: Character, hand: np.ndarray) -> None:
    points = canvas.px(hand)
    palm = cv2.convexHull(points[[0, 1, 2, 5, 9, 13, 17]].astype(np.float32))[:, 0]
    width = max(1, int(round(0.016 * canvas.scale)))
    dark = outline_of(ch.skin)
    fingers = [points[[0, 1, 2, 3, 4]]] + [points[[5 + 4 * k, 6 + 4 * k, 7 + 4 * k, 8 + 4 * k]] for k in range(4)]
    for finger in fingers:
        canvas.stroke(finger, dark, width + 2 * canvas.line)
    canvas.fill(palm, ch.skin, dark)
    for finger in fingers:
        canvas.stroke(finger, ch.skin, width)


def _long_hair(canvas: Canvas, ch: Character, sk: Skeleton, f: int) -> None:
    frame = _HeadFrame(canvas, ch, sk, f)
    length = ch.hair_length
    outline = np.array([(-1.08, -0.3), (1.08, -0.3), (1.15, length * 0.8), (0.6, length), (-0.6, length),
                        (-1.15, length * 0.8)])
    canvas.fill(frame.local(outline), shade(ch.hair, 0.85), outline_of(ch.hair))


class _HeadFrame:
    """Head-local coordinates (head radii; x right, y down) of one frame: 2D (rolled) and 3D (turned)."""

    def __init__(self, canvas: Canvas, ch: Character, sk: Skeleton, f: int):
        self.canvas, self.rotation = canvas, sk.head_rotation[f]
        self.centre3, self.radius3 = sk.head_centre[f], ch.proportions.head_radius
        self.centre = canvas.px(self.centre3)
        self.radius = self.radius3 * canvas.scale
        down = self.rotation[:2, 1]
        self.angle = float(np.arctan2(-down[0], down[1]))

    def local(self, points: np.ndarray) -> np.ndarray:
        c, s = np.cos(self.angle), np.sin(self.angle)
        return self.centre + self.radius * np.asarray(points, dtype=np.float64) @ np.array([[c, s], [-s, c]])

    def surface(self, points: np.ndarray) -> np.ndarray:
        """Head-local 3D points (on the head, turning with it) -> pixels."""
        return self.canvas.px(self.centre3 + self.radius3 * np.asarray(points, dtype=np.float64) @ self.rotation.T)

    def arc(self, axes: tuple[float, float], start: float, stop: float, steps: int = 24,
            bumps: float = 0.0) -> np.ndarray:
        t = np.linspace(start, stop, steps)
        radius = 1 + bumps * np.abs(np.sin(7 * t)) * (np.sin(t) < -0.2)
        return self.local(np.stack([axes[0] * radius * np.cos(t), axes[1] * radius * np.sin(t)], 1))


def _head(canvas: Canvas, ch: Character, sk: Skeleton, f: int) -> None:
    p, frame = ch.proportions, _HeadFrame(canvas, ch, sk, f)
    face = canvas.px(sk.face[f])
    style = ch.hair_style if ch.hat != "tophat" else "short"
    if style == "afro":
        canvas.fill(frame.local(ellipse(np.array([0.0, -0.25]), (1.45, 1.4), 0.0)), ch.hair, outline_of(ch.hair))
    elif style == "bob":
        canvas.fill(frame.local(np.array([(-1.12, -0.2), (1.12, -0.2), (1.12, 0.62), (-1.12, 0.62)])), shade(ch.hair, 0.85))
    elif style == "ponytail":
        anchor = frame.surface(np.array([[0.0, -0.45, -1.0]]))[0]
        tail = anchor + (frame.local(np.array([[0.25, 1.7]]))[0] - frame.centre)
        canvas.fill(capsule(anchor, tail, 0.3 * frame.radius, 0.18 * frame.radius), shade(ch.hair, 0.9), outline_of(ch.hair))
    for k, visible in ((16, sk.ears_visible[f, 0]), (17, sk.ears_visible[f, 1])):
        if visible:
            ear = canvas.px(sk.body[f, k])
            canvas.fill(ellipse(ear, (0.2 * frame.radius, 0.28 * frame.radius), frame.angle, steps=14), ch.skin,
                        outline_of(ch.skin))
    cranium = frame.arc((p.head_width, 1.08), 0, 2 * np.pi, 32)
    head = cv2.convexHull(np.concatenate([cranium, face[:17]]).astype(np.float32))[:, 0]
    canvas.fill(head, ch.skin, outline_of(ch.skin))
    _face(canvas, ch, face, frame)
    if style in _HAIR_SIDES:
        _hair_cap(canvas, ch, frame, style)
    if style == "bun":
        bun = frame.surface(np.array([[0.0, -1.05, -0.3]]))[0]
        canvas.fill(ellipse(bun, (0.42 * frame.radius,) * 2, 0.0, steps=16), ch.hair, outline_of(ch.hair))
    if ch.glasses is not None:
        thickness = max(1, int(round(0.07 * frame.radius)))
        for eye in (face[36:42], face[42:48]):
            canvas.stroke(ellipse(eye.mean(0), (0.3 * frame.radius, 0.24 * frame.radius), frame.angle, steps=16),
                          ch.glasses, thickness, closed=True)
        canvas.stroke(face[[39, 42]], ch.glasses, thickness)
    if ch.hat is not None:
        _hat(canvas, ch, frame)


def _face(canvas: Canvas, ch: Character, face: np.ndarray, frame: _HeadFrame) -> None:
    dark = shade(ch.skin, 0.45)
    if ch.beard:
        beard = np.concatenate([face[2:15], face[[54, 35, 33, 31, 48]]])
        canvas.fill(beard, ch.hair)
    for eye in (face[36:42], face[42:48]):
        if np.ptp(eye[:, 1]) > 0.05 * frame.radius:
            canvas.fill(eye, _EYE_WHITE)
            iris = ellipse(eye.mean(0), (0.085 * frame.radius, 0.085 * frame.radius), 0.0, steps=10)
            canvas.fill(iris, ch.eyes)
        canvas.stroke(eye, dark, closed=True)
    brow = max(1, int(round(0.08 * frame.radius)))
    canvas.stroke(face[17:22], shade(ch.hair, 0.8), brow)
    canvas.stroke(face[22:27], shade(ch.hair, 0.8), brow)
    nose = shade(ch.skin, 0.72)
    canvas.stroke(face[[29, 30]], nose)
    canvas.stroke(face[31:36], nose)
    canvas.fill(face[48:60], ch.lips, shade(ch.lips, 0.7))
    if np.linalg.norm(face[66] - face[62]) > 0.06 * frame.radius:
        canvas.fill(face[60:68], _MOUTH_INSIDE)


def _hair_cap(canvas: Canvas, ch: Character, frame: _HeadFrame, style: str) -> None:
    p = ch.proportions
    side_y = _HAIR_SIDES[style]
    axes = (p.head_width + 0.1, 1.18)
    turn = np.arcsin(np.clip(side_y / axes[1], -0.99, 0.99))
    arc = frame.arc(axes, turn, -np.pi - turn, bumps=0.25 if style == "spiky" else 0.0)
    xs = np.linspace(-0.88, 0.88, 11)
    parting = 0.12 * xs if style in ("short", "long") else 0.05 * np.abs(xs)
    fringe = np.full_like(xs, ch.fringe) + parting
    line = np.concatenate([[(-0.98, side_y)], np.stack([xs, fringe], 1), [(0.98, side_y)]])
    depth = np.sqrt(np.clip(1.02 - (line[:, 0] / 1.05) ** 2 - (line[:, 1] / 1.25) ** 2, 0.02, None))
    hairline = frame.surface(np.concatenate([line, depth[:, None]], 1))
    colour = ch.hair if style != "buzz" else tuple((np.array(ch.hair) * 0.6 + np.array(ch.skin) * 0.4).astype(int))
    canvas.fill(np.concatenate([arc, hairline]), colour, outline_of(ch.hair))


def _hat(canvas: Canvas, ch: Character, frame: _HeadFrame) -> None:
    p, colour = ch.proportions, ch.hat_colour
    axes = (p.head_width + 0.16, 1.22)

    def dome(cut: float) -> np.ndarray:
        turn = np.arcsin(np.clip(cut / axes[1], -0.99, 0.99))
        return frame.arc(axes, turn, -np.pi - turn)

    if ch.hat == "cap":
        canvas.fill(dome(-0.35), colour, outline_of(colour))
        brim = frame.surface(np.array([(-0.8, -0.4, 0.7), (0.8, -0.4, 0.7), (0.6, -0.3, 1.6), (-0.6, -0.3, 1.6)]))
        canvas.fill(brim, shade(colour, 0.8), outline_of(colour))
    elif ch.hat == "beanie":
        canvas.fill(dome(-0.3), shade(colour, 0.75), outline_of(colour))
        canvas.fill(dome(-0.55), colour)
        canvas.fill(frame.local(ellipse(np.array([0.0, -1.3]), (0.25, 0.25), 0.0, steps=12)), shade(colour, 1.35))
    else:  # top hat
        canvas.fill(frame.local(np.array([(-0.68, -2.1), (0.68, -2.1), (0.68, -0.8), (-0.68, -0.8)])), colour,
                    outline_of(colour))
        canvas.fill(frame.local(np.array([(-0.68, -1.08), (0.68, -1.08), (0.68, -0.88), (-0.68, -0.88)])),
                    shade(colour, 1.6))
        canvas.fill(frame.local(np.array([(-1.15, -0.92), (1.15, -0.92), (1.15, -0.74), (-1.15, -0.74)])), colour,
                    outline_of(colour))
