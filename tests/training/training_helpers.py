"""The tiny training configs on a test dataset, shared by the training tests."""

from __future__ import annotations

from pathlib import Path

from animate_anyone.training.config import TrainConfig, load_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def tiny_config(stage: int, dataset: Path, output_dir: Path, *overrides: str) -> TrainConfig:
    """The tiny config of `stage` on `dataset`, without validation, with `overrides`."""
    return load_config(CONFIGS / f"tiny-stage{stage}.yaml", [
        f"data.root={dataset}", f"output_dir={output_dir}", "validation.every_steps=0",
        *(["model.source=tiny"] if stage == 2 else []), *overrides,
    ])
