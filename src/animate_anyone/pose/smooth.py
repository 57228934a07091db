"""Temporal clean-up of keypoint sequences: gap filling, then zero-lag One-Euro smoothing.

Gap filling: a run of frames in which a point is absent is filled when every frame of the run has
nobody in it (interpolated between the neighbouring frames that have the point, or the nearest pose
carried at the ends of the video), or when it is shorter than `max_gap` frames and has the point on
both sides (interpolated). Longer absences within frames that show the person are left missing:
the point is out of view, not dropped.

Smoothing: the One-Euro filter (Casiez, Roussel & Vogel, CHI 2012) run forwards and backwards over
each stretch of frames in which a point is present, and the two passes averaged. A causal One-Euro
lags by its time constant; the backward pass leads by as much, so the average has no lag on steady
motion while keeping the filter's adaptive cut-off (strong smoothing when still, little when fast).
"""

from __future__ import annotations

import numpy as np

from animate_anyone.pose.keypoints import KeypointSequence, is_present

MAX_GAP = 8  # frames (about a quarter of a second at 30 fps)
# Filter parameters, with positions in pixels of the source video and time in seconds.
MIN_CUTOFF = 1.5  # Hz: the cut-off for a still point
BETA = 0.02  # Hz per (pixel / s): how fast the cut-off rises with speed
DERIVATIVE_CUTOFF = 1.0  # Hz: the cut-off of the speed estimate


def fill_gaps(sequence: KeypointSequence, max_gap: int = MAX_GAP) -> KeypointSequence:
    """Fill dropped points and frames with nobody in them (see the module docstring)."""
    points = sequence.points().copy()  # (F, 128, 3)
    present = is_present(points)
    nobody = ~sequence.person_found()
    for index in range(points.shape[1]):
        track, have = points[:, index], present[:, index]
        known = np.flatnonzero(have)
        if len(known) == 0:
            continue
        for start, stop in _absent_runs(have):
            bounded = start > 0 and stop < len(have)
            if not (nobody[start:stop].all() or (bounded and stop - start <= max_gap)):
                continue
            frames = np.arange(start, stop)
            for channel in range(3):  # x, y and confidence, linearly between the nearest present frames
                track[frames, channel] = np.interp(frames, known, track[known, channel])
    return sequence.with_points(points)


def _absent_runs(have: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of False."""
    edges = np.diff(np.concatenate([[1], have.astype(np.int8), [1]]))
    return list(zip(np.flatnonzero(edges == -1), np.flatnonzero(edges == 1)))


def smooth_keypoints(sequence: KeypointSequence, min_cutoff: float = MIN_CUTOFF, beta: float = BETA,
                     derivative_cutoff: float = DERIVATIVE_CUTOFF) -> KeypointSequence:
    """Zero-lag One-Euro smoothing of every present point's x and y; confidences are kept."""
    points = sequence.points().copy()
    frames = len(points)
    present = np.repeat(is_present(points), 2, axis=1)  # (F, 256): x and y of each point
    pixels = (points[..., :2] * (sequence.width, sequence.height)).reshape(frames, -1).astype(np.float64)

    def one_euro(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
        return one_euro_filter(values, valid, sequence.fps, min_cutoff, beta, derivative_cutoff)

    forward = one_euro(pixels, present)
    backward = one_euro(pixels[::-1], present[::-1])[::-1]
    smoothed = np.where(present, (forward + backward) / 2, pixels).reshape(frames, -1, 2)
    points[..., :2] = smoothed / (sequence.width, sequence.height)
    return sequence.with_points(points)


def _smoothing_factor(cutoff: np.ndarray | float, fps: float) -> np.ndarray | float:
    """Exponential smoothing factor of a first-order low-pass at `cutoff` Hz sampled at `fps`."""
    tau = 1.0 / (2 * np.pi * cutoff)
    return 1.0 / (1.0 + tau * fps)


def one_euro_filter(values: np.ndarray, valid: np.ndarray, fps: float, min_cutoff: float, beta: float,
                    derivative_cutoff: float) -> np.ndarray:
    """Causal One-Euro filter of each column of (F, N) `values`, restarted after every invalid frame."""
    filtered = values.copy()
    previous = np.zeros(values.shape[1])
    speed = np.zeros(values.shape[1])
    running = np.zeros(values.shape[1], dtype=bool)
    speed_factor = _smoothing_factor(derivative_cutoff, fps)
    for frame in range(len(values)):
        value, ok = values[frame], valid[frame]
        continuing = ok & running
        new_speed = speed_factor * (value - previous) * fps + (1 - speed_factor) * speed
        factor = _smoothing_factor(min_cutoff + beta * np.abs(new_speed), fps)
        filtered[frame] = np.where(continuing, factor * value + (1 - factor) * previous, value)
        previous = np.where(ok, filtered[frame], previous)
        speed = np.where(continuing, new_speed, 0.0)
        running = ok
    return filtered
