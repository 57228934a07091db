"""Retarget a driving pose sequence to the body of the reference character (DESIGN.md §4).

Scales: every bone of the driving skeleton gets the factor reference length ÷ driving length,
measured on the reference pose and on the first driving frame that shows a neck: per side for the
shoulders, upper and lower arms, torso (neck→hip), upper and lower legs and the neck (neck→nose);
one factor for the whole head (eyes, ears and the 68 face points; from the spread of the face points,
else from the eye and ear bones) and one per hand (from the spread of its 21 points, else that arm's
forearm factor). A bone that cannot be measured on one side takes the other side's factor, else the
body factor g = the median of the measured body factors.

Re-attachment, per frame, along the kinematic chain from the neck: each point is placed at its
parent's new position plus its scaled offset from the parent (the nearest present ancestor when the
parent is missing in that frame). The neck itself is fixed relative to the body: its trajectory is
the driving one scaled by g about the first frame's neck, and translated so that the first frame's
neck lands on the reference's neck. Frames without a present neck are scaled by g about that point.

All of this is in pixels (driving points × driving size, reference points × reference size); the
result lives in the reference image's frame (its width and height). Missing points stay missing and
confidences are kept.
"""

from __future__ import annotations

import numpy as np

from animate_anyone.errors import InputError
from animate_anyone.pose.keypoints import (
    LEFT_HAND,
    NUM_BODY,
    NUM_FACE,
    NUM_HAND,
    NUM_POINTS,
    RIGHT_HAND,
    KeypointSequence,
    is_present,
)

NECK, NOSE, R_WRIST, L_WRIST = 1, 0, 4, 7
# Parent of each body joint on the chain from the neck (OpenPose-18 order); the neck has none.
BODY_PARENT = (1, None, 1, 2, 3, 1, 5, 6, 1, 8, 9, 1, 11, 12, 0, 0, 14, 15)
# The same bone on the other side of the body (for a factor that cannot be measured).
MIRROR = {2: 5, 3: 6, 4: 7, 5: 2, 6: 3, 7: 4, 8: 11, 9: 12, 10: 13, 11: 8, 12: 9, 13: 10}
HEAD_JOINTS = (14, 15, 16, 17)
HAND_OFFSET = NUM_BODY
FACE_OFFSET = NUM_BODY + 2 * NUM_HAND


def _point_parents() -> np.ndarray:
    """Parent of each of the 128 flat points (-1: the neck); hands hang off the wrists, the face off the nose."""
    parents = np.array([-1 if p is None else p for p in BODY_PARENT]
                       + [L_WRIST] * NUM_HAND + [R_WRIST] * NUM_HAND + [NOSE] * NUM_FACE)
    assert len(parents) == NUM_POINTS, "the flat layout has 128 points"
    return parents


POINT_PARENTS = _point_parents()


def _depth_order() -> list[int]:
    """Points ordered so that every parent comes before its children."""
    def depth(index: int) -> int:
        return 0 if POINT_PARENTS[index] < 0 else 1 + depth(POINT_PARENTS[index])

    return sorted(range(NUM_POINTS), key=depth)


def _pixels(sequence: KeypointSequence) -> np.ndarray:
    """(F, 128, 2) point positions in pixels of the sequence's own frame."""
    return sequence.points()[..., :2].astype(np.float64) * (sequence.width, sequence.height)


def _bone_ratio(reference: np.ndarray, ref_ok: np.ndarray, driving: np.ndarray, drv_ok: np.ndarray,
                child: int, parent: int) -> float | None:
    if not (ref_ok[child] and ref_ok[parent] and drv_ok[child] and drv_ok[parent]):
        return None
    driving_length = np.linalg.norm(driving[child] - driving[parent])
    if driving_length < 1e-6:
        return None
    return float(np.linalg.norm(reference[child] - reference[parent]) / driving_length)


def _spread_ratio(reference: np.ndarray, ref_ok: np.ndarray, driving: np.ndarray, drv_ok: np.ndarray,
                  indices: slice) -> float | None:
    """Ratio of the RMS distance of a point group from its centroid, over points present in both."""
    both = ref_ok[indices] & drv_ok[indices]
    if both.sum() < 3:
        return None
    ref_points, drv_points = reference[indices][both], driving[indices][both]
    drv_spread = np.sqrt(((drv_points - drv_points.mean(0)) ** 2).sum(-1).mean())
    if drv_spread < 1e-6:
        return None
    return float(np.sqrt(((ref_points - ref_points.mean(0)) ** 2).sum(-1).mean()) / drv_spread)


def limb_scales(reference: np.ndarray, ref_ok: np.ndarray, driving: np.ndarray, drv_ok: np.ndarray
                ) -> tuple[np.ndarray, float]:
    """Per-point factors (128,) and the body factor g, from one reference and one driving frame (pixels)."""
    measured = {joint: _bone_ratio(reference, ref_ok, driving, drv_ok, joint, parent)
                for joint, parent in enumerate(BODY_PARENT) if parent is not None and joint not in HEAD_JOINTS}
    known = [ratio for ratio in measured.values() if ratio is not None]
    if not known:
        raise InputError("cannot align poses: no bone is visible in both the reference and the driving pose")
    body_factor = float(np.median(known))
    scales = np.full(NUM_POINTS, body_factor)
    for joint, ratio in measured.items():
        mirrored = measured.get(MIRROR.get(joint, -1))
        scales[joint] = ratio if ratio is not None else mirrored if mirrored is not None else body_factor

    face = slice(FACE_OFFSET, FACE_OFFSET + NUM_FACE)
    head = _spread_ratio(reference, ref_ok, driving, drv_ok, face)
    if head is None:
        head_bones = [_bone_ratio(reference, ref_ok, driving, drv_ok, j, BODY_PARENT[j]) for j in HEAD_JOINTS]
        head_bones = [ratio for ratio in head_bones if ratio is not None]
        head = float(np.median(head_bones)) if head_bones else scales[NOSE]
    scales[list(HEAD_JOINTS)] = head
    scales[face] = head
    for hand, wrist in ((LEFT_HAND, L_WRIST), (RIGHT_HAND, R_WRIST)):
        points = slice(HAND_OFFSET + hand * NUM_HAND, HAND_OFFSET + (hand + 1) * NUM_HAND)
        ratio = _spread_ratio(reference, ref_ok, driving, drv_ok, points)
        scales[points] = ratio if ratio is not None else scales[wrist]
    return scales, body_factor


def align_to_reference(driving: KeypointSequence, reference: KeypointSequence) -> KeypointSequence:
    """The driving sequence with the reference's proportions and position, in the reference's frame.

    `reference` is a one-frame sequence (the reference image's keypoints); see the module docstring.
    """
    reference_pixels, driving_pixels = _pixels(reference)[0], _pixels(driving)
    ref_ok = is_present(reference.points()[0])
    drv_ok = is_present(driving.points())  # (F, 128)
    if not ref_ok[NECK]:
        raise InputError("cannot align poses: the reference pose has no neck (both shoulders must be visible)")
    with_neck = np.flatnonzero(drv_ok[:, NECK])
    if len(with_neck) == 0:
        raise InputError("cannot align poses: no driving frame shows both shoulders")
    first = with_neck[0]
    scales, body_factor = limb_scales(reference_pixels, ref_ok, driving_pixels[first], drv_ok[first])

    # Points with no present ancestor (and the neck): g about the first driving neck, moved onto the reference neck.
    origin = driving_pixels[first, NECK]
    aligned = reference_pixels[NECK] + body_factor * (driving_pixels - origin)
    for point in _depth_order():
        anchor = np.full(len(driving), POINT_PARENTS[point])
        while True:  # climb to the nearest ancestor present in each frame (-1: none)
            climbing = anchor >= 0
            climbing[climbing] = ~drv_ok[climbing.nonzero()[0], anchor[climbing]]
            if not climbing.any():
                break
            anchor[climbing] = POINT_PARENTS[anchor[climbing]]
        frames = np.flatnonzero(anchor >= 0)
        parent = anchor[frames]
        offset = driving_pixels[frames, point] - driving_pixels[frames, parent]
        aligned[frames, point] = aligned[frames, parent] + scales[point] * offset

    points = driving.points().copy()
    points[..., :2] = aligned / (reference.width, reference.height)
    return KeypointSequence.from_points(points, driving.fps, reference.width, reference.height)
