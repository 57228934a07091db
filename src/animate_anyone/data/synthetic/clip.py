"""One synthetic clip from a seed: a character, its motion, the rendered video and its keypoints.

The seed fixes everything. The character comes from the generator `default_rng([seed, 1])` and
the motion from `default_rng([motion_seed, 2])` (`motion_seed` defaults to `seed`), so a character
can also be animated with another clip's motion, and nothing touches a global random state.
The keypoints are the projections of the very points the character was drawn around, and the
clip's pose maps are `render_sequence(keypoints)`: what the pose renderer draws for a real video.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from animate_anyone.data.synthetic.body import Skeleton, pose_skeleton
from animate_anyone.data.synthetic.character import Character, random_character
from animate_anyone.data.synthetic.motion import Motion, generate_motion
from animate_anyone.data.synthetic.render import View, camera_path, render_character_masks, render_frames
from animate_anyone.pose.keypoints import KeypointSequence, missing_points
from animate_anyone.pose.render import render_sequence

PRESENT_CONFIDENCE = 0.9  # confidence of every visible point (what a confident detector reports)
_APPEARANCE_STREAM, _MOTION_STREAM = 1, 2


@dataclass
class SyntheticClip:
    seed: int
    motion_seed: int
    frames: np.ndarray  # (F, H, W, 3) uint8
    keypoints: KeypointSequence
    character: Character
    motion: Motion

    def pose_maps(self) -> np.ndarray:
        """(F, H, W, 3) uint8 pose images: the pose renderer's drawing of the clip's keypoints."""
        return render_sequence(self.keypoints)

    def character_masks(self) -> np.ndarray:
        """(F, H, W) bool: where `frames` show the character (at least half of a pixel), not the background."""
        height, width = self.frames.shape[1:3]
        skeleton, view = _skeleton_and_view(self.character, self.motion, width, height)
        return render_character_masks(self.character, skeleton, view, width, height)


def character_of(seed: int) -> Character:
    return random_character(np.random.default_rng([seed, _APPEARANCE_STREAM]))


def motion_of(seed: int, num_frames: int, fps: float) -> Motion:
    return generate_motion(np.random.default_rng([seed, _MOTION_STREAM]), num_frames, fps)


def generate_clip(seed: int, num_frames: int = 48, width: int = 128, height: int = 128, fps: float = 24.0,
                  motion_seed: int | None = None) -> SyntheticClip:
    """The clip of `seed` (the same every time), `num_frames` frames of `width` x `height` at `fps`."""
    if num_frames < 1 or width < 8 or height < 8 or fps <= 0:
        raise ValueError(f"need frames >= 1, a size of at least 8x8 and fps > 0, got {num_frames}, "
                         f"{width}x{height}, {fps}")
    motion_seed = seed if motion_seed is None else motion_seed
    character = character_of(seed)
    motion = motion_of(motion_seed, num_frames, fps)
    frames, keypoints = animate(character, motion, width, height)
    return SyntheticClip(seed, motion_seed, frames, keypoints, character, motion)


def animate(character: Character, motion: Motion, width: int, height: int) -> tuple[np.ndarray, KeypointSequence]:
    """Render `character` doing `motion`: (frames (F, H, W, 3) uint8, keypoints), for any character or motion."""
    skeleton, view = _skeleton_and_view(character, motion, width, height)
    frames = render_frames(character, skeleton, view, width, height)
    return frames, project_keypoints(skeleton, view, width, height, motion.fps)


def _skeleton_and_view(character: Character, motion: Motion, width: int, height: int) -> tuple[Skeleton, View]:
    skeleton = pose_skeleton(motion, character.proportions, character.palm)
    return skeleton, camera_path(motion, skeleton, width / height)


def project_keypoints(skeleton: Skeleton, view: View, width: int, height: int, fps: float) -> KeypointSequence:
    """The skeleton's points in normalised image coordinates; points outside the frame (and hidden ears) are missing."""
    frames = len(skeleton.body)
    points = np.concatenate([skeleton.body, skeleton.hands.reshape(frames, 42, 3), skeleton.face], axis=1)
    out = missing_points(frames, points.shape[1])
    for f in range(frames):
        scale, offset = view.transform(f, (width, height))
        xy = (points[f, :, :2] * scale + offset) / (width, height)
        inside = ((xy >= 0) & (xy < 1)).all(axis=1)
        inside[16:18] &= skeleton.ears_visible[f]
        out[f, inside, :2] = xy[inside]
        out[f, inside, 2] = PRESENT_CONFIDENCE
    return KeypointSequence.from_points(out, fps, width, height)
