"""Alignment (retargeting) of a driving sequence to a reference body."""

from __future__ import annotations

import numpy as np
import pytest

from animate_anyone.errors import InputError
from animate_anyone.pose.align import BODY_PARENT, align_to_reference
from animate_anyone.pose.keypoints import KeypointSequence

from pose_fixtures import BONES, skeleton_sequence

LIMBS = [joint for joint, parent in enumerate(BODY_PARENT) if parent is not None and joint < 14]


def bone_lengths(sequence: KeypointSequence) -> np.ndarray:
    """(F, len(LIMBS)) body bone lengths in pixels."""
    pixels = sequence.body[..., :2] * (sequence.width, sequence.height)
    return np.stack([np.linalg.norm(pixels[:, j] - pixels[:, BODY_PARENT[j]], axis=-1) for j in LIMBS], -1)


def test_aligning_to_own_first_frame_is_identity():
    driving = skeleton_sequence(num_frames=15)
    aligned = align_to_reference(driving, driving.head(1))
    np.testing.assert_allclose(aligned.points(), driving.points(), atol=1e-6)
    assert (aligned.width, aligned.height) == (driving.width, driving.height)


def test_limb_length_ratios_follow_the_reference():
    reference_bones = {j: length * (1.4 if j in (9, 10, 12, 13) else 0.8) for j, length in BONES.items()}
    reference = skeleton_sequence(num_frames=1, bones=reference_bones, size=(622, 913), neck=(300, 200), seed=5)
    driving = skeleton_sequence(num_frames=30, size=(512, 704), seed=1)
    aligned = align_to_reference(driving, reference)
    assert (aligned.width, aligned.height) == (622, 913)
    ratios = bone_lengths(aligned) / bone_lengths(reference)
    np.testing.assert_allclose(ratios, 1.0, rtol=0.05)
    # the proportions changed: the driving figure's legs were shorter than its torso would say
    assert not np.allclose(bone_lengths(driving)[0] / bone_lengths(reference)[0], 1.0, rtol=0.05)
    # the first frame's neck lands on the reference neck
    np.testing.assert_allclose(aligned.body[0, 1, :2] * (622, 913), reference.body[0, 1, :2] * (622, 913), atol=1e-3)


def test_uniform_scaling_is_undone():
    original = skeleton_sequence(num_frames=20, drift=3.0)
    points = original.points().copy()
    center = np.array([0.4, 0.6])
    points[..., :2] = center + 0.6 * (points[..., :2] - center)
    shrunk = original.with_points(points)
    aligned = align_to_reference(shrunk, original.head(1))
    np.testing.assert_allclose(aligned.points(), original.points(), atol=1e-5)


def test_missing_joints_stay_missing_and_chain_skips_them():
    driving = skeleton_sequence(num_frames=6)
    body = driving.body.copy()
    body[3:, 3] = np.nan  # right elbow lost from frame 3 on
    body[3:, 3, 2] = 0
    body[2, 9, 2] = 0.1  # a low-confidence knee
    driving = KeypointSequence(body, driving.hands, driving.faces, driving.fps, driving.width, driving.height)
    aligned = align_to_reference(driving, skeleton_sequence(num_frames=1, seed=3).head(1))
    assert np.isnan(aligned.body[3:, 3, :2]).all() and (aligned.body[3:, 3, 2] == 0).all()
    assert np.isfinite(aligned.body[3:, 4, :2]).all(), "the wrist re-attaches to the shoulder"
    assert aligned.body[2, 9, 2] == pytest.approx(0.1)


def test_reference_without_shoulders_is_an_error():
    reference = skeleton_sequence(num_frames=1)
    reference.body[0, [1, 2], 2] = 0
    with pytest.raises(InputError, match="neck"):
        align_to_reference(skeleton_sequence(), reference)
