"""Fixtures of the training tests: a small generated dataset, one thread per test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from synthetic_dataset import write_synthetic_dataset  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: tiny models run several times faster than with threads fighting over 2 shared cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """3 stick-figure videos of 40 frames (48 px) with their pose videos, meta.json."""
    return write_synthetic_dataset(tmp_path_factory.mktemp("dataset"), num_videos=3, num_frames=40, size=48)
