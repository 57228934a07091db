"""Whole-body keypoints of one person over a video, and their `.npz` file format.

Layout (DESIGN.md §4), every point is (x, y, confidence) with x, y normalised to [0, 1] by the
width and height of the video the points belong to:

- body: OpenPose-18 in COCO order (`BODY_JOINTS`);
- hands: 2 × 21 OpenPose hand points, hand 0 the person's left, hand 1 the person's right
  (the COCO-WholeBody / DWPose order);
- face: the 68 iBUG/dlib face points (COCO-WholeBody face order).

A missing point has confidence 0 and NaN coordinates, so that arithmetic on it stays missing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

from animate_anyone.errors import InputError

BODY_JOINTS = (
    "nose", "neck", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow", "l_wrist",
    "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "r_eye", "l_eye", "r_ear", "l_ear",
)
NUM_BODY, NUM_HAND, NUM_FACE = 18, 21, 68
NUM_POINTS = NUM_BODY + 2 * NUM_HAND + NUM_FACE  # 128: the flat layout of `KeypointSequence.points`
LEFT_HAND, RIGHT_HAND = 0, 1
# A point counts as present above this confidence (the DWPose/OpenPose rendering threshold).
CONFIDENCE_THRESHOLD = 0.3


class FrameKeypoints(NamedTuple):
    """One person in one frame: body (18, 3), hands (2, 21, 3), face (68, 3), normalised."""

    body: np.ndarray
    hands: np.ndarray
    face: np.ndarray


def missing_points(*shape: int) -> np.ndarray:
    """Points of the given leading shape, all missing: (..., 3) with NaN coordinates, confidence 0."""
    points = np.full((*shape, 3), np.nan, dtype=np.float32)
    points[..., 2] = 0
    return points


def is_present(points: np.ndarray) -> np.ndarray:
    """(...,) bool for (..., 3) points: confidence above the threshold and finite coordinates."""
    return (points[..., 2] > CONFIDENCE_THRESHOLD) & np.isfinite(points[..., :2]).all(axis=-1)


@dataclass
class KeypointSequence:
    """Keypoints of one person per frame, with the frame rate and pixel size of their video."""

    body: np.ndarray  # (F, 18, 3)
    hands: np.ndarray  # (F, 2, 21, 3)
    faces: np.ndarray  # (F, 68, 3)
    fps: float
    width: int
    height: int

    def __post_init__(self) -> None:
        self.body = np.asarray(self.body, dtype=np.float32)
        self.hands = np.asarray(self.hands, dtype=np.float32)
        self.faces = np.asarray(self.faces, dtype=np.float32)
        self.fps, self.width, self.height = float(self.fps), int(self.width), int(self.height)
        problem = _layout_problem(self.body, self.hands, self.faces, self.fps, self.width, self.height)
        if problem:
            raise ValueError(problem)

    def __len__(self) -> int:
        return len(self.body)

    @classmethod
    def from_frames(
        cls, frames: Sequence[FrameKeypoints | None], fps: float, width: int, height: int
    ) -> KeypointSequence:
        """Stack per-frame keypoints; `None` (no person found) becomes a frame of missing points."""
        body = missing_points(len(frames), NUM_BODY)
        hands = missing_points(len(frames), 2, NUM_HAND)
        faces = missing_points(len(frames), NUM_FACE)
        for index, frame in enumerate(frames):
            if frame is not None:
                body[index], hands[index], faces[index] = frame.body, frame.hands, frame.face
        return cls(body, hands, faces, fps, width, height)

    @classmethod
    def from_points(cls, points: np.ndarray, fps: float, width: int, height: int) -> KeypointSequence:
        """Inverse of `points`: (F, 128, 3) → body, hands, faces."""
        frames = len(points)
        body, hands, faces = np.split(points, [NUM_BODY, NUM_BODY + 2 * NUM_HAND], axis=1)
        return cls(body, hands.reshape(frames, 2, NUM_HAND, 3), faces, fps, width, height)

    def points(self) -> np.ndarray:
        """All points of each frame in one array (F, 128, 3): body, left hand, right hand, face."""
        return np.concatenate([self.body, self.hands.reshape(len(self), -1, 3), self.faces], axis=1)

    def with_points(self, points: np.ndarray) -> KeypointSequence:
        """The same video with new (F, 128, 3) points."""
        return KeypointSequence.from_points(points, self.fps, self.width, self.height)

    def frame(self, index: int) -> FrameKeypoints:
        return FrameKeypoints(self.body[index], self.hands[index], self.faces[index])

    def person_found(self) -> np.ndarray:
        """(F,) bool: frames with at least one present body point."""
        return is_present(self.body).any(axis=1)

    def head(self, num_frames: int | None) -> KeypointSequence:
        """The first `num_frames` frames (all when None)."""
        return KeypointSequence(self.body[:num_frames], self.hands[:num_frames], self.faces[:num_frames],
                                self.fps, self.width, self.height)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the `.npz` file (arrays body, hands, faces, fps, width, height) atomically."""
        from animate_anyone.data.video_io import atomic_output

        with atomic_output(path) as temp_path, open(temp_path, "wb") as file:
            np.savez_compressed(file, body=self.body, hands=self.hands, faces=self.faces,
                                fps=np.float64(self.fps), width=np.int64(self.width), height=np.int64(self.height))
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> KeypointSequence:
        """Read a `.npz` written by `save`; anything else is an `InputError` naming what is wrong."""
        path = Path(path)
        if not path.is_file():
            raise InputError(f"keypoint file not found: {path}")
        try:
            data = np.load(path, allow_pickle=False)
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise ValueError("not an .npz archive")
            with data:
                arrays = {name: data[name] for name in data.files}
        except (OSError, ValueError, EOFError) as error:
            raise InputError(f"cannot read keypoint file {path}: {error}") from None
        missing = [name for name in ("body", "hands", "faces", "fps", "width", "height") if name not in arrays]
        if missing:
            raise InputError(f"{path} is not a keypoint file: missing array(s) {', '.join(missing)}")
        scalars = [arrays[name] for name in ("fps", "width", "height")]
        if any(array.shape != () or not np.issubdtype(array.dtype, np.number) for array in scalars):
            raise InputError(f"{path}: fps, width and height must be numbers")
        fps, width, height = (array.item() for array in scalars)
        problem = _layout_problem(arrays["body"], arrays["hands"], arrays["faces"], fps, width, height)
        if problem:
            raise InputError(f"{path}: {problem}")
        return cls(arrays["body"], arrays["hands"], arrays["faces"], fps, width, height)


def _layout_problem(body, hands, faces, fps, width, height) -> str | None:
    """What is wrong with these arrays as a keypoint sequence, or None."""
    for name, array, shape in (("body", body, (NUM_BODY, 3)), ("hands", hands, (2, NUM_HAND, 3)),
                               ("faces", faces, (NUM_FACE, 3))):
        if not np.issubdtype(array.dtype, np.floating) or array.shape[1:] != shape:
            expected = ", ".join(map(str, shape))
            return f"{name} must be a float array of shape (frames, {expected}), got {array.dtype} {array.shape}"
    if not len(body) == len(hands) == len(faces):
        return f"frame counts differ: body {len(body)}, hands {len(hands)}, faces {len(faces)}"
    if not (np.isfinite(fps) and fps > 0) or width < 1 or height < 1:
        return f"fps, width and height must be positive, got {fps}, {width}, {height}"
    for name, array in (("body", body), ("hands", hands), ("faces", faces)):
        confidence = array[..., 2]
        if not np.all((confidence >= 0) & (confidence <= 1)):
            return f"{name} confidences must lie in [0, 1]"
    return None
