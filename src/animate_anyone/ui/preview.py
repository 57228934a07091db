"""The pose preview: the skeletons as the model will see them, drawn over the reference as the model
will see it (stretched to the output size, as the pipeline does), so a bad fit shows before generating."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from animate_anyone.data.video_io import write_video
from animate_anyone.pose.sources import DARK_LEVEL


def overlay_frames(reference: Image.Image, poses: list[Image.Image], width: int, height: int) -> np.ndarray:
    """(F, H, W, 3) uint8: each pose's drawn pixels over the reference dimmed to half."""
    backdrop = np.asarray(reference.convert("RGB").resize((width, height), Image.BICUBIC)) // 2
    frames = np.empty((len(poses), height, width, 3), np.uint8)
    for index, pose in enumerate(poses):
        drawn = np.asarray(pose.convert("RGB").resize((width, height), Image.BILINEAR))
        frames[index] = np.where(drawn.max(axis=-1, keepdims=True) >= DARK_LEVEL, drawn, backdrop)
    return frames


def write_preview(path: Path, reference: Image.Image, poses: list[Image.Image], width: int, height: int,
                  fps: float) -> Path:
    return write_video(path, overlay_frames(reference, poses, width, height), fps=fps)
