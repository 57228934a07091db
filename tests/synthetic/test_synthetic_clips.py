"""Clips: the same seed gives the same clip; keypoints, pose maps and motion are what a pose video shows."""

from __future__ import annotations

import numpy as np

from animate_anyone.data.synthetic import character_of, generate_clip
from animate_anyone.pose.keypoints import LEFT_HAND, RIGHT_HAND, is_present
from animate_anyone.pose.render import render_sequence


def test_same_seed_same_clip_other_seed_other_clip(small_clip):
    again = generate_clip(3, num_frames=24, width=96, height=128)
    assert np.array_equal(small_clip.frames, again.frames)
    assert np.array_equal(small_clip.keypoints.points(), again.keypoints.points(), equal_nan=True)
    other = generate_clip(4, num_frames=24, width=96, height=128)
    assert not np.array_equal(small_clip.frames, other.frames)
    assert not np.allclose(small_clip.keypoints.body, other.keypoints.body, equal_nan=True)


def test_generation_leaves_the_global_random_state_alone():
    np.random.seed(0)
    before = np.random.random()
    np.random.seed(0)
    generate_clip(5, num_frames=4, width=32, height=32)
    assert np.random.random() == before


def test_character_and_motion_seeds_are_independent():
    """A character can dance another clip's motion: its own appearance and body, the other's joint angles."""
    own = generate_clip(8, num_frames=6, width=64, height=64)
    borrowed = generate_clip(8, num_frames=6, width=64, height=64, motion_seed=9)
    other = generate_clip(9, num_frames=6, width=64, height=64)
    assert np.array_equal(borrowed.character.torso, own.character.torso)
    assert np.array_equal(borrowed.motion.arms, other.motion.arms)
    assert not np.array_equal(borrowed.motion.arms, own.motion.arms)
    assert not np.allclose(borrowed.keypoints.body, own.keypoints.body, equal_nan=True)
    assert not np.array_equal(character_of(8).torso, character_of(9).torso)


def test_pose_maps_are_the_pose_renderers_drawing_of_the_keypoints(small_clip):
    poses = small_clip.pose_maps()
    assert poses.shape == small_clip.frames.shape
    assert np.array_equal(poses, render_sequence(small_clip.keypoints, 96, 128))
    assert poses.reshape(len(poses), -1).max(1).min() > 0  # someone is drawn in every frame


def test_keypoints_look_like_a_whole_body_detection(small_clip):
    kp = small_clip.keypoints
    assert (kp.width, kp.height, kp.fps, len(kp)) == (96, 128, 24.0, 24)
    body = is_present(kp.body)
    assert body[:, :8].all()  # head, neck and arms are in every frame of this clip
    for hand, wrist in ((LEFT_HAND, 7), (RIGHT_HAND, 4)):  # hand 0 is the person's left
        present = is_present(kp.hands[:, hand, 0]) & body[:, wrist]
        assert present.any()
        assert np.allclose(kp.hands[present, hand, 0, :2], kp.body[present, wrist, :2], atol=1e-5)
    face = is_present(kp.faces)
    assert face.all(axis=1).any()
    nose = kp.body[:, 0, :2]
    assert np.nanmax(np.linalg.norm(kp.faces[..., :2] - nose[:, None], axis=-1)) < 0.15  # face around the nose
    inside = kp.points()[..., :2][is_present(kp.points())]
    assert inside.min() >= 0 and inside.max() < 1


def test_motion_is_smooth_and_moves():
    for seed in (0, 1, 2):
        kp = generate_clip(seed, num_frames=24, width=64, height=64).keypoints
        steps = np.linalg.norm(np.diff(kp.body[:, :, :2], axis=0), axis=-1)
        assert np.nanmax(steps) < 0.1, seed  # no joint jumps more than a tenth of the frame per frame (24 fps)
        always = kp.body[:, is_present(kp.body).all(axis=0), :2]
        assert (always.max(axis=0) - always.min(axis=0)).max() > 0.03, seed


def test_character_masks_cover_the_character_and_nothing_else():
    """Swap the background only: the pixels inside the mask (away from its edge) stay the same, the
    pixels outside it change; the mask holds the body's keypoints and is neither empty nor the frame."""
    from dataclasses import replace

    import cv2

    from animate_anyone.data.synthetic.clip import animate

    clip = generate_clip(11, num_frames=4, width=64, height=96)
    masks = clip.character_masks()
    assert masks.shape == clip.frames.shape[:3] and masks.dtype == bool
    assert 0.02 < masks.mean() < 0.6
    swapped, _ = animate(replace(clip.character, background=character_of(12).background), clip.motion, 64, 96)
    for frame, other, mask in zip(clip.frames, swapped, masks):
        kernel = np.ones((3, 3), np.uint8)
        inside = cv2.erode(mask.astype(np.uint8), kernel).astype(bool)
        outside = ~cv2.dilate(mask.astype(np.uint8), kernel, iterations=2).astype(bool)
        assert inside.sum() > 50
        assert np.array_equal(frame[inside], other[inside])
        assert (frame[outside] != other[outside]).any(axis=1).mean() > 0.5
    body = clip.keypoints.body[..., :2] * (64, 96)  # (F, 18, 2) in pixels
    for f, mask in enumerate(masks):
        for x, y in body[f][is_present(clip.keypoints.body[f])]:
            near = mask[max(int(y) - 2, 0):int(y) + 3, max(int(x) - 2, 0):int(x) + 3]
            assert near.any(), f"keypoint ({x:.0f}, {y:.0f}) of frame {f} is outside the mask"
