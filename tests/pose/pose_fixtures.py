"""Synthetic skeletons with known bone lengths, for the pose tests."""

from __future__ import annotations

import numpy as np

from animate_anyone.pose.align import BODY_PARENT
from animate_anyone.pose.keypoints import NUM_FACE, NUM_HAND, KeypointSequence

# Bone lengths in pixels of a front-facing figure, per body joint (its bone to its parent).
BONES = {0: 60, 2: 45, 5: 45, 3: 70, 6: 70, 4: 60, 7: 60, 8: 150, 11: 150, 9: 110, 12: 110,
         10: 100, 13: 100, 14: 15, 15: 15, 16: 20, 17: 20}
# Rest direction of each bone in degrees (image axes: x right, y down; 90 = straight down).
DIRECTIONS = {0: -90, 2: 180, 5: 0, 3: 100, 6: 80, 4: 90, 7: 90, 8: 100, 11: 80, 9: 90, 12: 90,
              10: 90, 13: 90, 14: -120, 15: -60, 16: 180, 17: 0}


def skeleton_sequence(num_frames: int = 20, bones: dict[int, float] = BONES, neck=(256.0, 150.0),
                      swing: float = 25.0, drift: float = 2.0, size=(512, 640), fps: float = 30.0,
                      seed: int = 0) -> KeypointSequence:
    """A 2D figure whose bones keep their lengths while every joint swings (no foreshortening).

    Hands (21 points fanned out from each wrist) and a face (68 points on an ellipse around the nose)
    come along, so every part of the layout is exercised.
    """
    rng = np.random.default_rng(seed)
    phases = rng.uniform(0, 2 * np.pi, 18)
    t = np.arange(num_frames)[:, None]
    body = np.zeros((num_frames, 18, 2))
    body[:, 1] = np.array(neck) + drift * t * np.array([1.0, 0.3])
    for joint in sorted(BONES, key=lambda j: _depth(j)):
        angle = np.deg2rad(DIRECTIONS[joint] + swing * np.sin(0.3 * t[:, 0] + phases[joint]))
        body[:, joint] = body[:, BODY_PARENT[joint]] + bones[joint] * np.stack([np.cos(angle), np.sin(angle)], -1)
    hands = np.zeros((num_frames, 2, NUM_HAND, 2))
    for hand, wrist in ((0, 7), (1, 4)):
        fan = np.deg2rad(np.linspace(40, 140, NUM_HAND))
        reach = 0.25 * bones[wrist] * (1 + np.arange(NUM_HAND) % 4) / 4
        hands[:, hand] = body[:, wrist, None] + reach[:, None] * np.stack([np.cos(fan), np.sin(fan)], -1)
        hands[:, hand, 0] = body[:, wrist]
    around = np.linspace(0, 2 * np.pi, NUM_FACE, endpoint=False)
    face_size = np.array([bones[16], 1.3 * bones[16]])
    face = body[:, 0, None] + face_size * np.stack([np.cos(around), np.sin(around)], -1)

    def with_confidence(pixels: np.ndarray) -> np.ndarray:
        return np.concatenate([pixels / size, np.ones((*pixels.shape[:-1], 1))], -1)

    return KeypointSequence(with_confidence(body), with_confidence(hands), with_confidence(face), fps, *size)


def _depth(joint: int) -> int:
    return 0 if BODY_PARENT[joint] is None else 1 + _depth(BODY_PARENT[joint])

