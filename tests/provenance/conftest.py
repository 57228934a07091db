from __future__ import annotations

import numpy as np
import pytest
from provenance_helpers import FPS, SIZE, write_signing_chain

from animate_anyone.data.synthetic import generate_clip, split_seeds
from animate_anyone.provenance import Label


@pytest.fixture(scope="session")
def clip_frames() -> np.ndarray:
    (seed,) = split_seeds("test", 1, first=7)
    return generate_clip(seed, num_frames=24, width=SIZE, height=SIZE, fps=FPS).frames


@pytest.fixture(scope="session")
def label() -> Label:
    return Label("tiny128", "0" * 64, seed=3, settings={"steps": 20, "guidance": 2.0, "width": SIZE, "height": SIZE})


@pytest.fixture(scope="session")
def signing_chain(tmp_path_factory):
    return write_signing_chain(tmp_path_factory.mktemp("c2pa"))
