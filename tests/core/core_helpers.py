"""Inputs and a call shortcut for the tiny pipeline tests."""

from __future__ import annotations

import numpy as np
import torch

SIZE = 32  # pixels; latent 4x4


def make_poses(num_frames: int, seed: int = 1) -> np.ndarray:
    return np.random.RandomState(seed).rand(num_frames, SIZE, SIZE, 3).astype(np.float32)


def generate(pipe, reference, poses, seed: int = 0, **kwargs) -> np.ndarray:
    """The one video of a single-video call (frames[0] of the batch-first output)."""
    options = dict(height=SIZE, width=SIZE, num_inference_steps=2, output_type="np")
    options.update(kwargs)
    frames = pipe(reference, poses, generator=torch.Generator().manual_seed(seed), **options).frames
    assert len(frames) == 1
    return frames[0]
