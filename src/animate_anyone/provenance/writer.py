"""The one writer of generated videos: frames -> marked frames -> H.264 mp4 with audio, label and C2PA.

`animate`, `demo`, the web UI and batch jobs all write through `write_generated_video`, so that every
video this project generates says what it is (docs/provenance.md).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from animate_anyone.data.audio import AudioClip
from animate_anyone.data.video_io import atomic_output, encode_mp4
from animate_anyone.provenance import watermark as invisible_mark
from animate_anyone.provenance.content_credentials import SigningCredentials, sign_mp4
from animate_anyone.provenance.label import Label


def write_generated_video(path: str | os.PathLike, frames: np.ndarray, fps: float, label: Label, *,
                          watermark: bool = True, audio: AudioClip | None = None,
                          signing: SigningCredentials | None = None, crf: int = 18) -> Path:
    """Write generated (F, H, W, 3) uint8 RGB frames to the mp4 `path`, through a temporary file renamed
    into place: with the invisible mark carrying `label.payload()` (unless `watermark` is False), the
    label in the container tags, `audio` as AAC when given, and a signed C2PA manifest when `signing`
    is given. Returns `path`."""
    path = Path(path)
    if watermark:
        frames = invisible_mark.embed(frames, label.payload())
    tags = label.tags(watermarked=watermark)
    with atomic_output(path) as temp_path:
        if signing is None:
            encode_mp4(temp_path, frames, fps, crf, audio=audio, metadata=tags)
        else:
            unsigned = temp_path.with_name(temp_path.stem + ".unsigned.mp4")
            try:
                encode_mp4(unsigned, frames, fps, crf, audio=audio, metadata=tags)
                sign_mp4(unsigned, temp_path, signing, label)
            finally:
                unsigned.unlink(missing_ok=True)
    return path
