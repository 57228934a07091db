from __future__ import annotations

import numpy as np
import pytest
import torch

from animate_anyone.testing import tiny_pipeline

SIZE = 32  # pixels; latent 4x4


@pytest.fixture(scope="module")
def pipe():
    return tiny_pipeline(seed=0)


@pytest.fixture
def reference() -> np.ndarray:
    return np.random.RandomState(0).rand(SIZE, SIZE, 3).astype(np.float32)


def make_poses(num_frames: int, seed: int = 1) -> np.ndarray:
    return np.random.RandomState(seed).rand(num_frames, SIZE, SIZE, 3).astype(np.float32)


def generate(pipe, reference, poses, seed: int = 0, **kwargs) -> np.ndarray:
    options = dict(height=SIZE, width=SIZE, num_inference_steps=2, output_type="np")
    options.update(kwargs)
    return pipe(reference, poses, generator=torch.Generator().manual_seed(seed), **options).frames
