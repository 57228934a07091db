"""What the page accepts, checked before anything is decoded or generated, each refusal one line.

Uploads are bounded in bytes; images in pixels (`load_image` reads the header first); driving videos
in duration (from the container's header) and in the frames used; output sizes must be multiples of 8
(the pipeline's check) and at most MAX_SIDE. Every refusal is an `InputError` whose text the page shows.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from animate_anyone.data.video_io import IMAGE_SUFFIXES, VIDEO_SUFFIXES, load_image, video_duration
from animate_anyone.errors import InputError
from animate_anyone.pose.sources import KEYPOINT_SUFFIX, PoseSequence, load_pose_sequence

MAX_SIDE = 2048  # output width or height, in pixels
MAX_VIDEO_SECONDS = 600.0  # a driving video longer than this is refused (only its first frames are read)
# load_pose_sequence (and the extractors under it) warn through `warnings`; one job reads poses at a time
# so that each job reports its own warnings.
_POSE_READING = threading.Lock()


@dataclass(frozen=True)
class Limits:
    max_upload_bytes: int
    max_frames: int
    max_video_seconds: float = MAX_VIDEO_SECONDS


def check_upload(path: str | Path | None, limits: Limits, what: str) -> Path:
    """The uploaded file, if it is there and within the size limit."""
    if not path:
        raise InputError(f"no {what} given")
    path = Path(path)
    if not path.is_file():
        raise InputError(f"the {what} upload is missing ({path.name}): upload it again")
    size = path.stat().st_size
    if size > limits.max_upload_bytes:
        raise InputError(f"the {what} is {size / 2**20:.1f} MB, more than the {limits.max_upload_bytes / 2**20:g} MB "
                         "accepted")
    return path


def field_number(value, name: str, whole: bool = True) -> int | float:
    """A page field as a number, an int if `whole` (fields reach the handlers unprocessed; they may be empty)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if whole and not number.is_integer():
        raise InputError(f"{name} must be a whole number, got {value!r}")
    return int(number) if whole else number


def check_size_and_frames(width: int, height: int, frames: int, limits: Limits) -> None:
    if not (8 <= width <= MAX_SIDE and 8 <= height <= MAX_SIDE) or width % 8 or height % 8:
        raise InputError(f"width and height must be multiples of 8 between 8 and {MAX_SIDE}, got {width}x{height}")
    if not 1 <= frames <= limits.max_frames:
        raise InputError(f"frames must be between 1 and {limits.max_frames} (this server's limit), got {frames}")


def load_reference(path: str | Path | None, limits: Limits) -> Image.Image:
    return load_image(check_upload(path, limits, "reference image"))


def load_driving(path: Path, limits: Limits, frames: int, width: int, height: int, reference: Image.Image,
                 align: bool) -> tuple[PoseSequence, list[str]]:
    """The pose images for an uploaded driving input (or a saved generated motion), and the warnings given."""
    if path.suffix.lower() in VIDEO_SUFFIXES:
        duration = video_duration(path)
        if duration is not None and duration > limits.max_video_seconds:
            raise InputError(f"the driving video lasts {duration:.0f} s, more than the "
                             f"{limits.max_video_seconds:g} s accepted")
    elif path.suffix.lower() not in (KEYPOINT_SUFFIX, *IMAGE_SUFFIXES):
        raise InputError(f"unsupported driving input {path.name}: expected a pose video, a driving video, "
                         f"a keypoint file ({KEYPOINT_SUFFIX}) or an image")
    with _POSE_READING, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        poses = load_pose_sequence(path, max_frames=frames, width=width, height=height, reference_image=reference,
                                   align=align)
    return poses, [str(warning.message) for warning in caught]
