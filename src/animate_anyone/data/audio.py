"""The sound of a driving video, cut to the frames a generated video was made from.

A generated video keeps its driving video's sound: the segment that starts with the first frame used
and lasts as long as the frames used, resampled to a rate AAC takes and to mono or stereo.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from animate_anyone.errors import InputError

# Sample rates the AAC encoder takes; other rates are resampled to the default.
AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)
DEFAULT_RATE = 48000


@dataclass(frozen=True)
class AudioClip:
    """Planar float32 samples (channels, samples) in [-1, 1] at `rate` Hz; `layout` is mono or stereo."""

    samples: np.ndarray
    rate: int
    layout: str

    @property
    def duration(self) -> float:
        return self.samples.shape[1] / self.rate


def read_driving_audio(path: str | os.PathLike, num_frames: int, fps: float) -> AudioClip | None:
    """The audio that plays with the first `num_frames` frames of the video `path` (at `fps`), or None
    when it has no audio stream. Starts at the first video frame's time; silence pads a short track."""
    path = Path(path)
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read video {path}: {error}") from None
    with contextlib.closing(container):
        if not container.streams.audio or not container.streams.video:
            return None
        try:
            start = _first_frame_time(container)
            return _read_segment(container, path, start, num_frames / fps)
        except av.error.FFmpegError as error:
            raise InputError(f"cannot decode the audio of {path}: {error}") from None


def _first_frame_time(container: av.container.InputContainer) -> float:
    for frame in container.decode(container.streams.video[0]):
        if frame.time is not None:
            return float(frame.time)
    return 0.0


def _read_segment(container: av.container.InputContainer, path: Path, start: float, duration: float) -> AudioClip:
    stream = container.streams.audio[0]
    rate = stream.rate if stream.rate in AAC_RATES else DEFAULT_RATE
    layout = "mono" if stream.channels == 1 else "stereo"
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
    container.seek(0)
    wanted = round(duration * rate)
    chunks: list[np.ndarray] = []
    first_time = None
    decoded = 0
    needed = None
    for frame in container.decode(stream):
        if first_time is None:
            first_time = float(frame.time or 0.0)
            needed = round((start - first_time) * rate) + wanted  # samples from the track's start
        for out in resampler.resample(frame):
            chunks.append(out.to_ndarray())
            decoded += chunks[-1].shape[1]
        if needed is not None and decoded >= needed:
            break
    else:
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray())
    if first_time is None:
        raise InputError(f"no audio decoded from {path}")
    track = np.concatenate(chunks, axis=1).astype(np.float32)
    offset = round((start - first_time) * rate)  # where the first video frame falls in the track
    if offset < 0:  # the sound starts after the picture: silence first
        track = np.pad(track, ((0, 0), (-offset, 0)))
        offset = 0
    segment = track[:, offset:offset + wanted]
    if segment.shape[1] < wanted:  # the sound stops before the last frame used: silence after
        segment = np.pad(segment, ((0, 0), (0, wanted - segment.shape[1])))
    return AudioClip(np.ascontiguousarray(segment), rate, layout)
