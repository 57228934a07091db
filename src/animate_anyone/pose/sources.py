"""Turn whatever the user passes as `--pose` into the pose images the Pose Guider sees.

Accepted inputs, and how each is told apart:

- a folder: pose images, used as they are (sorted by name);
- `.npz`: a keypoint file (`pose extract` output): rendered, after alignment when a reference is given;
- a video or an image that is already a rendered pose (DWPose/OpenPose style): used as it is. A file
  counts as rendered when its name ends in `_kps` (the public re-implementations' convention) or when
  its first frames are mostly black (at least 80% of pixels darker than 16/255), as pose renders are
  and camera footage is not;
- any other video or image: a raw driving video/photo of a person, from which keypoints are extracted
  (`backend`), gaps filled, smoothed over time, aligned to the reference body when given, and rendered.

Rendered size: `width` × `height` when given, else the size of the video (or of the reference image
when aligned). Unaligned keypoints are letterboxed into it. Aligned keypoints live in the reference
image's frame, which the pipeline stretches to the output size; they are stretched the same way
(`REFERENCE_FIT`), so that they land on the character as the model sees it.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np
from PIL import Image

from animate_anyone.data.video_io import (
    IMAGE_SUFFIXES,
    VIDEO_SUFFIXES,
    iter_video_frames,
    load_image,
    read_video_frames,
    video_info,
)
from animate_anyone.errors import InputError
from animate_anyone.pose import extract
from animate_anyone.pose.align import NECK, align_to_reference
from animate_anyone.pose.keypoints import KeypointSequence, is_present
from animate_anyone.pose.smooth import fill_gaps, smooth_keypoints

DEFAULT_FPS = 30.0
KEYPOINT_SUFFIX = ".npz"
RENDERED_NAME_SUFFIX = "_kps"
# A frame is a pose render when this share of its pixels is darker than DARK_LEVEL.
RENDERED_DARK_SHARE = 0.8
DARK_LEVEL = 16
FRAMES_CHECKED = 3
# How the pipeline places the reference image in the output: a plain resize (see module docstring).
REFERENCE_FIT = "stretch"


@dataclass
class PoseSequence:
    """Rendered pose images (RGB, black background) and the frame rate they were taken at; for poses
    extracted from a raw driving video, that video (its first `len(images)` frames), whose sound a
    generated video can keep."""

    images: list[Image.Image]
    fps: float
    driving_video: Path | None = None


BLACK = (0, 0, 0)  # pose renders are drawn on black: transparent pixels become black too


def _read_pose_video(path: Path, max_frames: int | None) -> PoseSequence:
    frames = read_video_frames(path, max_frames=max_frames)
    return PoseSequence([Image.fromarray(frame) for frame in frames], video_info(path).fps)


def _read_pose_folder(path: Path, max_frames: int | None) -> PoseSequence:
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InputError(f"no pose images ({', '.join(IMAGE_SUFFIXES)}) in folder {path}")
    return PoseSequence([load_image(p, background=BLACK) for p in files[:max_frames]], DEFAULT_FPS)


def looks_rendered(frame: np.ndarray) -> bool:
    """Whether an RGB frame is a pose render (mostly black) rather than a photo."""
    return float((frame.max(axis=-1) < DARK_LEVEL).mean()) >= RENDERED_DARK_SHARE


def is_rendered_pose(path: Path) -> bool:
    """`*_kps.*`, or a video/image whose first frames are mostly black."""
    if path.stem.lower().endswith(RENDERED_NAME_SUFFIX):
        return True
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return looks_rendered(np.asarray(load_image(path, background=BLACK)))
    frames = list(islice(iter_video_frames(path), FRAMES_CHECKED))
    if not frames:
        raise InputError(f"pose input {path} has no frames")
    return all(looks_rendered(frame) for frame in frames)


def load_pose_sequence(
    path: str | os.PathLike,
    max_frames: int | None = None,
    *,
    width: int | None = None,
    height: int | None = None,
    reference_image: Image.Image | None = None,
    align: bool = True,
    backend: str = "mediapipe",
    dwpose_detector: str | os.PathLike | None = None,
    dwpose_model: str | os.PathLike | None = None,
) -> PoseSequence:
    """Load a pose input (see the module docstring) as pose images.

    `width`/`height`, `reference_image`, `align` and the backend options apply to keypoint files and
    raw driving videos/photos only; rendered inputs are returned as they are. Alignment happens when
    `align` is true and `reference_image` shows a body (otherwise a warning says why it was skipped).
    """
    path = Path(path)
    if path.is_dir():
        sequence = _read_pose_folder(path, max_frames)
    elif not path.exists():
        raise InputError(f"pose input not found: {path}")
    elif path.suffix.lower() == KEYPOINT_SUFFIX or (
        path.suffix.lower() in VIDEO_SUFFIXES + IMAGE_SUFFIXES and not is_rendered_pose(path)
    ):
        sequence = _render_keypoints(path, max_frames, width, height, reference_image if align else None,
                                     dict(backend=backend, dwpose_detector=dwpose_detector, dwpose_model=dwpose_model))
    elif path.suffix.lower() in VIDEO_SUFFIXES:
        sequence = _read_pose_video(path, max_frames)
    elif path.suffix.lower() in IMAGE_SUFFIXES:
        sequence = PoseSequence([load_image(path, background=BLACK)], DEFAULT_FPS)
    else:
        raise InputError(f"unsupported pose input {path}: expected a pose video, a driving video, "
                         "a keypoint file (.npz), an image or a folder of images")
    if not sequence.images:
        raise InputError(f"pose input {path} has no frames")
    return sequence


def _render_keypoints(path: Path, max_frames: int | None, width: int | None, height: int | None,
                      reference_image: Image.Image | None, extractor_options: dict) -> PoseSequence:
    """Keypoints from a `.npz` or extracted from a driving video/photo, aligned if asked, rendered."""
    try:
        from animate_anyone.pose.render import render_sequence
    except ImportError as error:
        raise InputError(f"keypoint and driving-video inputs need the pose extra "
                         f"(pip install 'animate_anyone[pose]'): {error}") from None

    if path.suffix.lower() == KEYPOINT_SUFFIX:
        keypoints = KeypointSequence.load(path).head(max_frames)
        if len(keypoints) == 0:
            raise InputError(f"keypoint file {path} has no frames")
        report_frames_without_person(keypoints, path)
        keypoints = fill_gaps(keypoints)
    else:
        extractor = extract.create_extractor(video=True, **extractor_options)
        try:
            keypoints = extract.extract_from_path(path, extractor, max_frames)
        finally:
            extractor.close()
        report_frames_without_person(keypoints, path)
        keypoints = smooth_keypoints(fill_gaps(keypoints))

    fit = "letterbox"
    if reference_image is not None:
        reference = _reference_keypoints(reference_image, extractor_options)
        if reference is not None:
            keypoints, fit = align_to_reference(keypoints, reference), REFERENCE_FIT
    frames = render_sequence(keypoints, width, height, fit=fit)
    driving_video = path if path.suffix.lower() in VIDEO_SUFFIXES else None
    return PoseSequence([Image.fromarray(frame) for frame in frames], keypoints.fps, driving_video)


def report_frames_without_person(keypoints: KeypointSequence, path: Path) -> int:
    """Warn how many frames had nobody in them (they are filled from their neighbours); return the count."""
    missing = int((~keypoints.person_found()).sum())
    if missing:
        warnings.warn(f"no person found in {missing} of {len(keypoints)} frames of {path}; "
                      "those frames take the neighbouring poses", stacklevel=3)
    return missing


def _reference_keypoints(reference_image: Image.Image, extractor_options: dict) -> KeypointSequence | None:
    """The reference's one-frame keypoints, or None (with a warning) when it shows no body to align to."""
    extractor = extract.create_extractor(video=False, **extractor_options)
    try:
        image = np.asarray(reference_image.convert("RGB"))
        reference = extract.extract_from_image(image, extractor, "the reference image")
    except InputError:
        reference = None
    finally:
        extractor.close()
    if reference is None or not is_present(reference.body[0, NECK]):
        warnings.warn("the reference image shows no body with both shoulders: poses are not aligned to it",
                      stacklevel=4)
        return None
    return reference
