"""`train(config)`: the entry point that runs a config's stage with its trainer.

It sits above both trainers, so the dependency is one-way: `vae.VaeTrainer` extends `train.Trainer`,
and neither imports this module.
"""

from __future__ import annotations

import os

from animate_anyone.training.config import TrainConfig
from animate_anyone.training.train import Trainer, TrainResult
from animate_anyone.training.vae import VaeTrainer


def train(config: TrainConfig, resume: str | None = None) -> TrainResult:
    """Train `config.stage` to `config.training.max_steps`; `resume`: None, "latest" or a checkpoint folder."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    trainer = VaeTrainer if config.stage == "vae" else Trainer
    return trainer(config, resume).fit()
