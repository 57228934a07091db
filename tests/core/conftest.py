from __future__ import annotations

import numpy as np
import pytest
from core_helpers import SIZE

from animate_anyone.testing import tiny_pipeline


@pytest.fixture(scope="module")
def pipe():
    return tiny_pipeline(seed=0)


@pytest.fixture
def reference() -> np.ndarray:
    return np.random.RandomState(0).rand(SIZE, SIZE, 3).astype(np.float32)
