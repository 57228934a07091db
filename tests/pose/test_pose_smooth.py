"""Temporal smoothing and gap filling of keypoint sequences."""

from __future__ import annotations

import numpy as np
import pytest

from animate_anyone.pose.keypoints import KeypointSequence, missing_points
from animate_anyone.pose.smooth import fill_gaps, smooth_keypoints

FPS, SIZE = 30.0, (512, 512)


def sequence_with_track(track: np.ndarray) -> KeypointSequence:
    """Every point follows the same (F, 2) pixel trajectory."""
    frames = len(track)
    body, hands, faces = missing_points(frames, 18), missing_points(frames, 2, 21), missing_points(frames, 68)
    for points in (body, hands, faces):
        points[..., :2] = (track / SIZE).reshape(frames, *([1] * (points.ndim - 2)), 2)
        points[..., 2] = 1
    return KeypointSequence(body, hands, faces, FPS, *SIZE)


def dance(frames: int = 240) -> np.ndarray:
    """A clean trajectory with slow sway and fast (1.5 Hz, ~600 px/s) swings, in pixels."""
    t = np.arange(frames) / FPS
    x = 256 + 60 * np.sin(2 * np.pi * 0.4 * t) + 60 * np.sin(2 * np.pi * 1.5 * t)
    y = 256 + 40 * np.cos(2 * np.pi * 0.7 * t)
    return np.stack([x, y], -1)


def pixels(sequence: KeypointSequence, point: int = 4) -> np.ndarray:
    return sequence.points()[:, point, :2] * SIZE


def jitter(track: np.ndarray) -> float:
    """RMS frame-to-frame acceleration (second difference), pixels per frame²."""
    return float(np.sqrt((np.diff(track, 2, axis=0) ** 2).sum(-1).mean()))


def sway(frames: int = 240) -> np.ndarray:
    """A slow clean trajectory (0.3-0.5 Hz), in pixels."""
    t = np.arange(frames) / FPS
    return np.stack([256 + 40 * np.sin(2 * np.pi * 0.3 * t), 256 + 20 * np.cos(2 * np.pi * 0.5 * t)], -1)


@pytest.mark.parametrize("trajectory, max_jitter, max_error", [(sway, 0.35, 0.6), (dance, 0.65, 0.95)])
def test_smoothing_reduces_jitter_of_a_noisy_trajectory(trajectory, max_jitter, max_error):
    """Relative to the noisy input: less frame-to-frame acceleration, closer to the clean path."""
    clean = trajectory()
    noisy = clean + np.random.default_rng(0).normal(0, 3.0, clean.shape)
    smoothed = pixels(smooth_keypoints(sequence_with_track(noisy)))
    assert jitter(smoothed) < max_jitter * jitter(noisy)
    error = lambda track: np.sqrt(((track - clean) ** 2).sum(-1).mean())  # noqa: E731
    assert error(smoothed) < max_error * error(noisy)


def test_smoothing_does_not_lag_a_clean_trajectory():
    clean = dance()
    smoothed = pixels(smooth_keypoints(sequence_with_track(clean)))
    inner = slice(10, -10)

    def misfit(lag: int) -> float:  # smoothed[t] compared with clean[t - lag]
        return float(np.abs(smoothed[inner] - np.roll(clean, lag, axis=0)[inner]).mean())

    best_lag = min(range(-4, 5), key=misfit)
    assert abs(best_lag) <= 1
    assert misfit(0) < 2.0  # pixels: the shape is kept, too


def test_gap_filling_interpolates_short_dropouts_and_frames_without_anyone():
    clean = dance(60)
    sequence = sequence_with_track(clean)
    body, faces = sequence.body.copy(), sequence.faces.copy()
    body[10:13, 4] = missing_points(3)  # a wrist dropped for 3 frames
    body[30:50, 7] = missing_points(20)  # the other wrist gone for 20 frames: out of view
    nobody = slice(20, 26)
    body[nobody], faces[nobody] = missing_points(6, 18), missing_points(6, 68)
    hands = sequence.hands.copy()
    hands[nobody] = missing_points(6, 2, 21)
    holed = KeypointSequence(body, hands, faces, FPS, *SIZE)
    assert (~holed.person_found()).sum() == 6

    filled = fill_gaps(holed, max_gap=8)
    assert filled.person_found().all()
    np.testing.assert_allclose(filled.body[10:13, 4, :2] * SIZE, clean[10:13], atol=4)
    weights = (np.arange(20, 26) - 19)[:, None] / 7  # linear between the frames either side
    expected = (1 - weights) * clean[19] + weights * clean[26]
    np.testing.assert_allclose(filled.body[nobody, 4, :2] * SIZE, expected, atol=1e-3)
    assert np.isnan(filled.body[30:50, 7, :2]).all(), "a long absence with the person in view stays missing"


def test_frames_without_anyone_at_the_ends_carry_the_nearest_pose():
    sequence = sequence_with_track(dance(12))
    body = sequence.body.copy()
    body[:3], body[-2:] = missing_points(3, 18), missing_points(2, 18)
    filled = fill_gaps(KeypointSequence(body, sequence.hands, sequence.faces, FPS, *SIZE))
    np.testing.assert_array_equal(filled.body[0], body[3])
    np.testing.assert_array_equal(filled.body[-1], body[-3])


def test_smoothing_keeps_missing_points_missing():
    sequence = sequence_with_track(dance(30))
    body = sequence.body.copy()
    body[5:9, 2] = missing_points(4)
    smoothed = smooth_keypoints(KeypointSequence(body, sequence.hands, sequence.faces, FPS, *SIZE))
    assert np.isnan(smoothed.body[5:9, 2, :2]).all()
    assert np.isfinite(smoothed.body[9:, 2, :2]).all()
