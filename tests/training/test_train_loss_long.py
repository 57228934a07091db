"""Opt-in (ANIMATE_ANYONE_SLOW_TESTS=1, ~1 min): the 200-step tiny stage-1 run of the issue."""

from __future__ import annotations

import os

import numpy as np
import pytest
from training_helpers import tiny_config

from animate_anyone.pipelines.loading import load_pipeline
from animate_anyone.training.run import train


@pytest.mark.skipif(not os.environ.get("ANIMATE_ANYONE_SLOW_TESTS"), reason="set ANIMATE_ANYONE_SLOW_TESTS=1 to run")
def test_200_steps_lower_the_loss_clearly(tiny_dataset, tmp_path):
    import torch

    result = train(tiny_config(1, tiny_dataset, tmp_path / "run", "training.max_steps=200"))
    first, last = np.mean(result.losses[:20]), np.mean(result.losses[-20:])
    print(f"mean loss of steps 1-20 {first:.4f}, of steps 181-200 {last:.4f}")
    assert last < 0.5 * first
    load_pipeline(result.last_checkpoint / "pipeline", torch.device("cpu"), torch.float32)
