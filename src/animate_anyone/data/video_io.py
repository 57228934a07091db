"""Reading and writing videos (PyAV, which bundles ffmpeg with libx264) and images.

Readers stream frames instead of loading whole videos; writers write to a temporary file in the
destination folder and rename it into place, so a failed run never leaves a half-written file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import warnings
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Iterator

import av
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from animate_anyone.data.audio import AudioClip
from animate_anyone.errors import InputError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".gif")
# Largest image or video frame accepted (8192 x 8192, 200 MB as 8-bit RGB): above any ordinary camera
# photo, far below what a forged header can claim. Checked from the header, before anything is decoded.
MAX_PIXELS = 8192 * 8192


def check_pixel_count(width: int, height: int, what: str) -> None:
    """Refuse a `width` x `height` picture above MAX_PIXELS (a decompression bomb, or just too big)."""
    if width * height > MAX_PIXELS:
        raise InputError(f"{what} is {width}x{height} pixels, more than the {MAX_PIXELS / 1e6:.0f} megapixels "
                         "accepted; refusing to decode it")


@dataclass(frozen=True)
class VideoInfo:
    num_frames: int
    fps: float
    width: int
    height: int


def _open(path: str | os.PathLike) -> av.container.InputContainer:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"video not found: {path}")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read video {path}: {error}") from None
    if not container.streams.video:
        container.close()
        raise InputError(f"no video stream in {path}")
    context = container.streams.video[0].codec_context
    try:
        check_pixel_count(context.width, context.height, f"video {path}")
    except InputError:
        container.close()
        raise
    return container


def video_info(path: str | os.PathLike) -> VideoInfo:
    """Frame count, fps and size as the container header says them (counted by decoding when it does not).

    The header's frame count can be off (an edit list that hides the first frame, a truncated file):
    where the exact count matters, use `count_frames`."""
    with contextlib.closing(_open(path)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or stream.guessed_rate or 25)
        num_frames = stream.frames
        if not num_frames:
            num_frames = sum(1 for _ in container.decode(stream))
        return VideoInfo(num_frames, fps, stream.codec_context.width, stream.codec_context.height)


def count_frames(path: str | os.PathLike) -> int:
    """The frames that actually decode: the one frame count datasets use (`data prepare`, `train`)."""
    return sum(1 for _ in iter_video_frames(path))


def video_duration(path: str | os.PathLike) -> float | None:
    """Seconds, as the container's header says (None when it does not), without decoding."""
    with contextlib.closing(_open(path)) as container:
        stream = container.streams.video[0]
        if stream.duration is not None and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
        return container.duration / av.time_base if container.duration is not None else None


def iter_video_frames(path: str | os.PathLike) -> Iterator[np.ndarray]:
    """Yield frames as (H, W, 3) uint8 RGB arrays, one at a time."""
    with contextlib.closing(_open(path)) as container:
        try:
            for frame in container.decode(container.streams.video[0]):
                yield frame.to_ndarray(format="rgb24")
        except av.error.FFmpegError as error:
            raise InputError(f"cannot decode video {path}: {error}") from None


def read_video_frames(
    path: str | os.PathLike, indices: Iterable[int] | None = None, max_frames: int | None = None
) -> np.ndarray:
    """Frames (F, H, W, 3) uint8: all, the first `max_frames`, or those at sorted `indices`."""
    wanted = None if indices is None else sorted(set(indices))
    frames: list[np.ndarray] = []
    for index, frame in enumerate(iter_video_frames(path)):
        if wanted is not None:
            if index in wanted:
                frames.append(frame)
            if index >= wanted[-1]:
                break
        else:
            frames.append(frame)
            if max_frames is not None and len(frames) >= max_frames:
                break
    if not frames:
        raise InputError(f"no frames decoded from {path}")
    if wanted is not None and len(frames) != len(wanted):
        raise InputError(f"{path} has fewer frames than requested (last index {wanted[-1]})")
    return np.stack(frames)


def load_image(path: str | os.PathLike, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """An 8-bit RGB image, turned upright by its EXIF orientation; transparency is composited onto
    `background` (white keeps character cut-outs readable; pose renders want black)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"image not found: {path}")
    try:
        with warnings.catch_warnings():  # Pillow warns from 89 MP on: our own limit speaks first
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)  # reads the header only
        with image:
            check_pixel_count(image.width, image.height, f"image {path}")
            image.load()
        image = ImageOps.exif_transpose(image)
    except Image.DecompressionBombError as error:  # Pillow's own, higher limit, checked as it reads the header
        raise InputError(f"image {path} is over the {MAX_PIXELS / 1e6:.0f} megapixels accepted ({error}); "
                         "refusing to decode it") from None
    except (UnidentifiedImageError, OSError) as error:
        raise InputError(f"cannot read image {path}: {error}") from None
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # 16/32-bit: scale to 8 bits, don't clip
        values = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if image.mode.startswith("I;16") else max(float(values.max()), 1.0)
        image = Image.fromarray((np.clip(values / peak, 0, 1) * 255).round().astype(np.uint8))
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        backdrop = Image.new("RGBA", rgba.size, (*background, 255))
        return Image.alpha_composite(backdrop, rgba).convert("RGB")
    return image.convert("RGB")


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it to `path` only if the block succeeds."""
    path = Path(path)
    if path.parent and not path.parent.is_dir():
        raise InputError(f"output folder does not exist: {path.parent}")
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent or ".")
    os.close(fd)
    temp_path = Path(temp_name)
    umask = os.umask(0)
    os.umask(umask)
    temp_path.chmod(0o666 & ~umask)  # mkstemp makes the file private; outputs get the usual permissions
    try:
        yield temp_path
        os.replace(temp_path, path)
    finally:
        temp_path.unlink(missing_ok=True)


def write_video(path: str | os.PathLike, frames: np.ndarray, fps: float, crf: int = 18) -> Path:
    """Write (F, H, W, 3) uint8 RGB frames as H.264 mp4 (yuv420p, even sizes padded by edge pixels).

    Plain frames (pose renders, datasets, training samples); generated videos go through
    `animate_anyone.provenance.write_generated_video`, which marks, labels and signs them.
    """
    with atomic_output(path) as temp_path:
        encode_mp4(temp_path, frames, fps, crf)
    return Path(path)


def encode_mp4(target: str | os.PathLike, frames: np.ndarray, fps: float, crf: int = 18, *,
               audio: AudioClip | None = None, metadata: dict[str, str] | None = None) -> None:
    """Encode frames (as `write_video`), optional AAC audio and container tags straight into `target`."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
        raise ValueError(f"expected frames of shape (F, H, W, 3), got {frames.shape}")
    frames = frames.astype(np.uint8, copy=False)
    pad_h, pad_w = frames.shape[1] % 2, frames.shape[2] % 2
    if pad_h or pad_w:  # yuv420p needs even sizes
        frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(target), mode="w", format="mp4") as container:
        container.metadata.update(metadata or {})
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf)}
        audio_stream = None
        if audio is not None:
            audio_stream = container.add_stream("aac", rate=audio.rate, layout=audio.layout)
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
        if audio_stream is not None:
            frame = av.AudioFrame.from_ndarray(audio.samples, format="fltp", layout=audio.layout)
            frame.rate, frame.pts = audio.rate, 0
            container.mux(audio_stream.encode(frame))
            container.mux(audio_stream.encode())


def save_image(path: str | os.PathLike, image: Image.Image | np.ndarray) -> Path:
    """Save an image atomically (format from the suffix)."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    with atomic_output(path) as temp_path:
        image.save(temp_path, format=Image.registered_extensions().get(Path(path).suffix.lower(), "PNG"))
    return Path(path)
