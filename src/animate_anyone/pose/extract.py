"""Pose extraction from images and driving videos, behind one interface for every backend.

A backend is a callable `(RGB uint8 image (H, W, 3)) -> FrameKeypoints | None` (None: nobody found)
with `close()`. Backends: `mediapipe` (default; models inside the pinned wheel, offline) and
`dwpose` (YOLOX + DWPose ONNX files given by path).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from animate_anyone.data.video_io import IMAGE_SUFFIXES, VIDEO_SUFFIXES, iter_video_frames, load_image, video_info
from animate_anyone.errors import InputError
from animate_anyone.pose import BACKENDS, DEFAULT_BACKEND
from animate_anyone.pose.keypoints import FrameKeypoints, KeypointSequence

IMAGE_FPS = 30.0  # the frame rate given to a one-frame sequence extracted from an image


class PoseExtractor(Protocol):
    def __call__(self, image: np.ndarray) -> FrameKeypoints | None: ...

    def close(self) -> None: ...


def create_extractor(backend: str = DEFAULT_BACKEND, *, video: bool = True,
                     dwpose_detector: str | os.PathLike | None = None,
                     dwpose_model: str | os.PathLike | None = None) -> PoseExtractor:
    """A backend by name. `video=True` lets it track between consecutive frames (mediapipe)."""
    if backend == "mediapipe":
        from animate_anyone.pose.extract_mediapipe import MediaPipeHolisticExtractor

        return MediaPipeHolisticExtractor(static_image_mode=not video)
    if backend == "dwpose":
        from animate_anyone.pose.extract_dwpose import DWPoseExtractor

        if dwpose_detector is None or dwpose_model is None:
            raise InputError("the dwpose backend needs --dwpose-detector (yolox_l.onnx) and "
                             "--dwpose-model (dw-ll_ucoco_384.onnx)")
        return DWPoseExtractor(dwpose_detector, dwpose_model)
    raise InputError(f"unknown pose backend {backend!r}: choose one of {', '.join(BACKENDS)}")


def extract_from_image(image: np.ndarray, extractor: PoseExtractor, name: str = "image") -> KeypointSequence:
    """A one-frame sequence from an RGB image; nobody in it is an `InputError`."""
    frame = extractor(np.ascontiguousarray(image))
    if frame is None:
        raise InputError(f"no person found in {name}")
    return KeypointSequence.from_frames([frame], IMAGE_FPS, image.shape[1], image.shape[0])


def extract_from_video(path: str | os.PathLike, extractor: PoseExtractor, max_frames: int | None = None,
                       progress: Callable[[int], None] | None = None) -> KeypointSequence:
    """Keypoints of every frame (the first `max_frames`); frames with nobody are left missing.

    Frames with nobody stay in the sequence as all-missing (see `KeypointSequence.person_found`);
    `smooth.fill_gaps` fills them. No frames, or nobody in any frame, is an `InputError`.
    """
    info = video_info(path)
    frames: list[FrameKeypoints | None] = []
    for image in iter_video_frames(path):
        frames.append(extractor(image))
        if progress is not None:
            progress(len(frames))
        if max_frames is not None and len(frames) >= max_frames:
            break
    if not frames:
        raise InputError(f"no frames decoded from {path}")
    if all(frame is None for frame in frames):
        raise InputError(f"no person found in any of the {len(frames)} frames of {path}")
    return KeypointSequence.from_frames(frames, info.fps, info.width, info.height)


def extract_from_path(path: str | os.PathLike, extractor: PoseExtractor, max_frames: int | None = None,
                      progress: Callable[[int], None] | None = None) -> KeypointSequence:
    """An image or a video file, told apart by its suffix."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"input not found: {path}")
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return extract_from_image(np.asarray(load_image(path)), extractor, name=str(path))
    if suffix in VIDEO_SUFFIXES:
        return extract_from_video(path, extractor, max_frames, progress)
    raise InputError(f"unsupported input {path}: expected an image ({', '.join(IMAGE_SUFFIXES)}) "
                     f"or a video ({', '.join(VIDEO_SUFFIXES)})")
