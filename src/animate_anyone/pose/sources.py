"""Turn whatever the user passes as `--pose` into the pose images the Pose Guider sees."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from animate_anyone.data.video_io import (
    IMAGE_SUFFIXES,
    VIDEO_SUFFIXES,
    iter_video_frames,
    load_image,
    video_info,
)
from animate_anyone.errors import InputError

DEFAULT_FPS = 30.0


@dataclass
class PoseSequence:
    """Rendered pose images (RGB, black background) and the frame rate they were taken at."""

    images: list[Image.Image]
    fps: float


def _read_pose_video(path: Path, max_frames: int | None) -> PoseSequence:
    fps = video_info(path).fps
    images = []
    for frame in iter_video_frames(path):
        images.append(Image.fromarray(frame))
        if max_frames is not None and len(images) >= max_frames:
            break
    return PoseSequence(images, fps)


def _read_pose_folder(path: Path, max_frames: int | None) -> PoseSequence:
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InputError(f"no pose images ({', '.join(IMAGE_SUFFIXES)}) in folder {path}")
    return PoseSequence([load_image(p) for p in files[:max_frames]], DEFAULT_FPS)


def load_pose_sequence(path: str | os.PathLike, max_frames: int | None = None) -> PoseSequence:
    """Load a pose input: a rendered pose video (`*_kps.mp4`), a folder of pose images, or one image."""
    path = Path(path)
    if path.is_dir():
        sequence = _read_pose_folder(path, max_frames)
    elif not path.exists():
        raise InputError(f"pose input not found: {path}")
    elif path.suffix.lower() in VIDEO_SUFFIXES:
        sequence = _read_pose_video(path, max_frames)
    elif path.suffix.lower() in IMAGE_SUFFIXES:
        sequence = PoseSequence([load_image(path)], DEFAULT_FPS)
    else:
        raise InputError(f"unsupported pose input {path}: expected a pose video, an image or a folder of images")
    if not sequence.images:
        raise InputError(f"pose input {path} has no frames")
    return sequence


def pose_images_to_array(images: list[Image.Image]) -> np.ndarray:
    """(F, H, W, 3) uint8 from equally sized images."""
    return np.stack([np.asarray(image.convert("RGB")) for image in images])
