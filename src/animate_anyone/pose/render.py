"""Pose images in the DWPose/OpenPose style: what the Pose Guider sees (DESIGN.md §4).

Black background; body limbs as filled ellipses (stick width 4) in the OpenPose colour table, dimmed
×0.6; body joints as circles of radius 4 in the full colours; hand bones as 2 px lines in 20 hues with
blue joint dots; face points as white dots of radius 3. A point is drawn only when present
(confidence above 0.3). Sizes are in output pixels, as in the public pose videos.

Keypoints keep their proportions at any output size: the source frame is letterboxed into the canvas
(scaled to fit, centred). `fit="stretch"` maps the source frame onto the whole canvas instead, which
is only right when the image the poses must land on is stretched the same way.
"""

from __future__ import annotations

import colorsys
import math
from typing import Literal

import cv2
import numpy as np

from animate_anyone.pose.keypoints import FrameKeypoints, KeypointSequence, is_present

Fit = Literal["letterbox", "stretch"]

# Facts of the DWPose renderer (IDEA-Research/DWPose, ControlNet annotator `dwpose/util.py`, Apache-2.0).
STICK_WIDTH = 4
LIMB_DIMMING = 0.6
JOINT_RADIUS = 4
HAND_LINE_WIDTH = 2
HAND_POINT_RADIUS = 4
HAND_POINT_COLOR = (0, 0, 255)
FACE_POINT_RADIUS = 3
FACE_POINT_COLOR = (255, 255, 255)
BODY_COLORS = (
    (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0), (0, 255, 0),
    (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255), (0, 0, 255), (85, 0, 255),
    (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85),
)
# OpenPose's limb pairs (0-based); DWPose draws the first 17 of its 19 (not the ear-shoulder pairs).
BODY_LIMBS = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
    (1, 0), (0, 14), (14, 16), (0, 15), (15, 17),
)
HAND_BONES = (
    (0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (0, 9), (9, 10), (10, 11), (11, 12),
    (0, 13), (13, 14), (14, 15), (15, 16), (0, 17), (17, 18), (18, 19), (19, 20),
)
HAND_BONE_COLORS = tuple(
    tuple(255 * c for c in colorsys.hsv_to_rgb(i / len(HAND_BONES), 1.0, 1.0)) for i in range(len(HAND_BONES))
)


def canvas_transform(source_size: tuple[int, int], canvas_size: tuple[int, int], fit: Fit = "letterbox"
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(scale, offset), each (2,): canvas pixel = offset + normalised point × scale (sizes are (W, H))."""
    (source_w, source_h), (canvas_w, canvas_h) = source_size, canvas_size
    if fit == "stretch":
        return np.array([canvas_w, canvas_h], dtype=np.float64), np.zeros(2)
    if fit != "letterbox":
        raise ValueError(f"fit must be 'letterbox' or 'stretch', got {fit!r}")
    factor = min(canvas_w / source_w, canvas_h / source_h)
    scale = np.array([source_w * factor, source_h * factor])
    return scale, (np.array([canvas_w, canvas_h]) - scale) / 2


def render_pose(frame: FrameKeypoints, canvas_size: tuple[int, int], source_size: tuple[int, int] | None = None,
                fit: Fit = "letterbox") -> np.ndarray:
    """Draw one frame's keypoints: (H, W, 3) uint8 RGB for `canvas_size` (W, H).

    `source_size` (W, H) is the size of the frame the normalised points refer to (default: the canvas).
    """
    scale, offset = canvas_transform(source_size or canvas_size, canvas_size, fit)

    def to_pixels(points: np.ndarray) -> np.ndarray:  # (N, 3) -> (N, 2) float pixels
        return offset + points[:, :2].astype(np.float64) * scale

    canvas = np.zeros((canvas_size[1], canvas_size[0], 3), dtype=np.uint8)
    _draw_limbs(canvas, to_pixels(frame.body), is_present(frame.body))
    _draw_joints(canvas, to_pixels(frame.body), is_present(frame.body))
    for hand in frame.hands:
        _draw_hand(canvas, to_pixels(hand), is_present(hand))
    for x, y in to_pixels(frame.face)[is_present(frame.face)]:
        cv2.circle(canvas, (int(x), int(y)), FACE_POINT_RADIUS, FACE_POINT_COLOR, thickness=-1)
    return canvas


def render_sequence(sequence: KeypointSequence, width: int | None = None, height: int | None = None,
                    fit: Fit = "letterbox") -> np.ndarray:
    """Draw every frame: (F, H, W, 3) uint8; the size defaults to the sequence's own."""
    canvas_size = (width or sequence.width, height or sequence.height)
    source_size = (sequence.width, sequence.height)
    frames = np.empty((len(sequence), canvas_size[1], canvas_size[0], 3), dtype=np.uint8)
    for index in range(len(sequence)):
        frames[index] = render_pose(sequence.frame(index), canvas_size, source_size, fit)
    return frames


def _draw_limbs(canvas: np.ndarray, pixels: np.ndarray, present: np.ndarray) -> None:
    """Limbs as ellipses along each bone, then the whole layer dimmed (drawn first, on black)."""
    for (start, end), color in zip(BODY_LIMBS, BODY_COLORS):
        if not (present[start] and present[end]):
            continue
        (x0, y0), (x1, y1) = pixels[start], pixels[end]
        center = (int((x0 + x1) / 2), int((y0 + y1) / 2))
        half_length = int(math.hypot(x1 - x0, y1 - y0) / 2)
        angle = int(math.degrees(math.atan2(y0 - y1, x0 - x1)))
        polygon = cv2.ellipse2Poly(center, (half_length, STICK_WIDTH), angle, 0, 360, 1)
        cv2.fillConvexPoly(canvas, polygon, color)
    canvas[:] = (canvas * LIMB_DIMMING).astype(np.uint8)


def _draw_joints(canvas: np.ndarray, pixels: np.ndarray, present: np.ndarray) -> None:
    for (x, y), color, shown in zip(pixels, BODY_COLORS, present):
        if shown:
            cv2.circle(canvas, (int(x), int(y)), JOINT_RADIUS, color, thickness=-1)


def _draw_hand(canvas: np.ndarray, pixels: np.ndarray, present: np.ndarray) -> None:
    for (start, end), color in zip(HAND_BONES, HAND_BONE_COLORS):
        if present[start] and present[end]:
            (x0, y0), (x1, y1) = pixels[start], pixels[end]
            cv2.line(canvas, (int(x0), int(y0)), (int(x1), int(y1)), color, thickness=HAND_LINE_WIDTH)
    for x, y in pixels[present]:
        cv2.circle(canvas, (int(x), int(y)), HAND_POINT_RADIUS, HAND_POINT_COLOR, thickness=-1)
