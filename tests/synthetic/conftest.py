"""Fixtures of the synthetic-data tests."""

from __future__ import annotations

import pytest

from animate_anyone.data.synthetic import generate_clip


@pytest.fixture(scope="session")
def small_clip():
    """One 24-frame 96x128 clip (seed 3), generated once."""
    return generate_clip(3, num_frames=24, width=96, height=128)
