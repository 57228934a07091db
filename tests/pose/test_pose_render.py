"""DWPose-style rendering: fidelity to the public pose images, letterboxing, and edge cases."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from animate_anyone.pose.keypoints import FrameKeypoints, missing_points
from animate_anyone.pose.render import (
    BODY_COLORS,
    BODY_LIMBS,
    LIMB_DIMMING,
    canvas_transform,
    render_pose,
    render_sequence,
)

from pose_fixtures import skeleton_sequence


def colour_mask(image: np.ndarray, colour, tolerance: int) -> np.ndarray:
    return np.abs(image.astype(int) - np.asarray(colour)).max(-1) <= tolerance


def decode_body(image: np.ndarray, tolerance: int = 40) -> np.ndarray:
    """Body joints read back from a rendered pose image: for each joint colour, the disc-sized blob
    of that (undimmed) colour with the most pixels of its own (dimmed) limb colours around it."""
    height, width = image.shape[:2]
    body = missing_points(18)
    yy, xx = np.mgrid[:height, :width]
    for joint, colour in enumerate(BODY_COLORS):
        mask = cv2.morphologyEx(colour_mask(image, colour, tolerance).astype(np.uint8), cv2.MORPH_OPEN,
                                np.ones((3, 3), np.uint8))
        count, _, stats, centres = cv2.connectedComponentsWithStats(mask)
        limbs = np.any([colour_mask(image, np.array(BODY_COLORS[i]) * LIMB_DIMMING, tolerance)
                        for i, limb in enumerate(BODY_LIMBS) if joint in limb], axis=0)
        best_score = 0
        for blob in range(1, count):
            if stats[blob, cv2.CC_STAT_AREA] < 15:
                continue
            cx, cy = centres[blob]
            score = (limbs & ((xx - cx) ** 2 + (yy - cy) ** 2 <= 144)).sum()
            if score > best_score:
                best_score, body[joint] = score, ((cx + 0.5) / width, (cy + 0.5) / height, 1.0)
    return body


def body_only(body: np.ndarray) -> FrameKeypoints:
    return FrameKeypoints(body, missing_points(2, 21), missing_points(68))


def test_rendering_keypoints_read_from_a_published_pose_image_reproduces_it(media_dir):
    """pose1.png was drawn by the public DWPose renderer; our drawing of its joints matches its body layer."""
    image = np.asarray(Image.open(media_dir / "pose1.png").convert("RGB"))
    height, width = image.shape[:2]
    drawing = render_pose(body_only(decode_body(image)), (width, height))
    drawn = drawing.max(-1) > 0
    agrees = np.abs(image.astype(int) - drawing).max(-1) <= 40
    assert (agrees & drawn).sum() / drawn.sum() > 0.9, "what we draw is there, in the same colours"
    limb_pixels = np.any([colour_mask(image, np.array(c) * LIMB_DIMMING, 30) for c in BODY_COLORS[:17]], axis=0)
    assert (limb_pixels & agrees & drawn).sum() / limb_pixels.sum() > 0.8, "the published limbs are drawn back"


def test_decode_render_round_trip_on_a_synthetic_skeleton():
    keypoints = skeleton_sequence(num_frames=1, swing=10)
    image = render_pose(body_only(keypoints.body[0]), (keypoints.width, keypoints.height))
    decoded = decode_body(image)
    pixels = lambda body: body[:14, :2] * (keypoints.width, keypoints.height)  # noqa: E731  (not the head)
    np.testing.assert_allclose(pixels(decoded), pixels(keypoints.body[0]), atol=1.5)


def test_letterbox_keeps_proportions_and_centres():
    scale, offset = canvas_transform((512, 1024), (512, 512))
    np.testing.assert_allclose(scale, [256, 512])
    np.testing.assert_allclose(offset, [128, 0])
    keypoints = skeleton_sequence(num_frames=1, size=(512, 1024), neck=(256, 300))
    wide = render_sequence(keypoints, 1024, 512)[0]
    assert wide.shape == (512, 1024, 3)
    columns = np.flatnonzero(wide.max(axis=(0, 2)) > 0)
    assert columns.min() >= 384 and columns.max() < 640, "drawn inside the centred 256-px-wide band"
    stretched = render_sequence(keypoints, 1024, 512, fit="stretch")[0]
    assert np.ptp(np.flatnonzero(stretched.max(axis=(0, 2)) > 0)) > 3 * np.ptp(columns)


def test_rendering_skips_missing_and_low_confidence_points():
    body = skeleton_sequence(num_frames=1).body[0].copy()
    empty = render_pose(body_only(missing_points(18)), (64, 64))
    assert empty.shape == (64, 64, 3) and empty.max() == 0
    body[:, 2] = 0.3  # at the threshold: not drawn (DWPose draws above 0.3)
    assert render_pose(body_only(body), (512, 640)).max() == 0
