"""Rendering: textures stay glued to their part, depth order follows the turn, frames are anti-aliased."""

from __future__ import annotations

import dataclasses

import numpy as np

from animate_anyone.data.synthetic import animate, character_of, motion_of
from animate_anyone.data.synthetic.character import Background

SIZE = 192
GREEN, RED, BLUE, GREY = (0, 255, 0), (255, 0, 0), (0, 0, 255), (128, 128, 128)


def plain(shape: tuple[int, int], colour) -> np.ndarray:
    return np.broadcast_to(np.array(colour, np.uint8), (*shape, 3)).copy()


def test_character(seed: int = 1, **changes):
    """A character with plain clothes on black, without accessories (so test colours are unique)."""
    character = character_of(seed)
    defaults = dict(torso=plain(character.torso.shape[:2], BLUE), sleeves="long",
                    sleeve=plain(character.sleeve.shape[:2], GREY), lower="pants",
                    legs=plain(character.legs.shape[:2], GREY), skirt=None, hat=None, bag=None, scarf=None,
                    glasses=None, shoes=GREY, background=Background("plain", [(0, 0, 0)] * 4))
    return dataclasses.replace(character, **{**defaults, **changes})


test_character.__test__ = False  # a helper, not a test


def still_motion(frames: int, yaw: float = 0.0):
    """Motion of seed 0 with the camera, body turn and head fixed (the arms are set by each test)."""
    motion = motion_of(0, frames, 24.0)
    for name in ("yaw", "lean", "bend", "pelvis_tilt", "head_yaw", "head_roll", "head_pitch", "camera_pan"):
        getattr(motion, name)[:] = 0.0
    motion.yaw[:] = yaw
    motion.view_height[:], motion.camera_y[:] = 1.3, -0.5
    motion.arms[:, 1] = np.radians([15, 0, 0, 0])  # right arm down, out of the way
    return motion


def colour_mask(frame: np.ndarray, colour) -> np.ndarray:
    return (np.abs(frame.astype(int) - colour).max(axis=-1) < 60)


def test_a_sleeve_print_follows_the_forearm():
    """A green band printed on the sleeve stays at the same place along the elbow -> wrist bone while the arm swings."""
    sleeve = plain((96, 40), GREY)
    sleeve[55:70] = GREEN
    frames_count = 6
    motion = still_motion(frames_count)
    motion.arms[:, 0, 0] = np.radians(np.linspace(40, 120, frames_count))  # upper arm swings up
    motion.arms[:, 0, 1] = motion.arms[:, 0, 3] = 0.0  # in the image plane: no foreshortening
    motion.arms[:, 0, 2] = np.radians(np.linspace(0, 50, frames_count))  # elbow bends
    frames, keypoints = animate(test_character(sleeve=sleeve), motion, SIZE, SIZE)
    fractions, centroids = [], []
    for frame, body in zip(frames, keypoints.body):
        elbow, wrist = body[6, :2] * SIZE, body[7, :2] * SIZE  # l_elbow, l_wrist
        bone = wrist - elbow
        pixels = np.argwhere(colour_mask(frame, GREEN))[:, ::-1] + 0.5
        along = (pixels - elbow) @ bone / (bone @ bone)
        across = (pixels - elbow) @ np.array([-bone[1], bone[0]]) / np.linalg.norm(bone)
        pixels = pixels[(along > 0.25) & (along < 1.1) & (np.abs(across) < 8)]  # this forearm's band only
        assert len(pixels) > 5
        centroid = pixels.mean(0)
        fraction = (centroid - elbow) @ bone / (bone @ bone)
        off_axis = abs((centroid - elbow) @ np.array([-bone[1], bone[0]])) / np.linalg.norm(bone)
        assert off_axis < 1.5, off_axis
        fractions.append(fraction)
        centroids.append(centroid)
    assert np.ptp(fractions) < 0.06, fractions
    assert np.linalg.norm(centroids[-1] - centroids[0]) > 20  # the band really moved


def test_the_far_arm_goes_behind_the_torso_and_comes_in_front_when_the_body_turns():
    motion = still_motion(2)
    motion.arms[:, 0] = np.radians([-8, 0, 0, 0])  # left arm hangs in front of (or behind) the torso's side
    character = test_character(sleeve=plain((96, 40), RED))
    for yaw, expected in ((0.7, BLUE), (-0.7, RED)):  # yaw > 0 turns the left side away from the camera
        motion.yaw[:] = yaw
        frames, keypoints = animate(character, motion, SIZE, SIZE)
        x, y = (keypoints.body[0, 6, :2] * SIZE).astype(int)  # the left elbow
        assert colour_mask(frames[0, y - 1:y + 2, x - 1:x + 2], expected).all(), (yaw, frames[0, y, x])


def test_edges_are_anti_aliased():
    frames, _ = animate(test_character(), still_motion(1), SIZE, SIZE)
    pixels = frames[0].reshape(-1, 3).astype(int)
    blue_on_black = (pixels[:, 0] == 0) & (pixels[:, 1] == 0) & (pixels[:, 2] > 40) & (pixels[:, 2] < 215)
    assert blue_on_black.sum() > 20  # the torso's edge pixels blend its blue with the black background
