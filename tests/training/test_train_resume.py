"""Exact resume: 20 steps in one go == 10 steps, a crash, and a resumed run to 20 (same seed)."""

from __future__ import annotations

import pytest
from training_helpers import tiny_config
from safetensors.torch import load_file

from animate_anyone.errors import InputError
from animate_anyone.training import checkpointing
from animate_anyone.training.config import load_config
from animate_anyone.training.run import train
from animate_anyone.training.train import Trainer

# EMA, gradient accumulation and warm-up all carry state that a resume must restore.
RECIPE = ("training.max_steps=20", "checkpointing.every_steps=10", "training.batch_size=2",
          "training.gradient_accumulation_steps=2", "training.use_ema=true", "training.ema_decay=0.9",
          "training.lr_warmup_steps=15")


def test_crash_and_resume_gives_identical_weights(tiny_dataset, tmp_path, monkeypatch):
    straight = train(tiny_config(1, tiny_dataset, tmp_path / "straight", *RECIPE))

    crash_config = tiny_config(1, tiny_dataset, tmp_path / "crashed", *RECIPE)
    after_step = Trainer._after_step

    def crash_at_13(self, result, progress):
        after_step(self, result, progress)
        if self.step == 13:
            raise KeyboardInterrupt("killed")

    with monkeypatch.context() as patch:
        patch.setattr(Trainer, "_after_step", crash_at_13)
        with pytest.raises(KeyboardInterrupt):
            train(crash_config)
    assert [step for step, _ in checkpointing.list_checkpoints(tmp_path / "crashed")] == [10]
    with pytest.raises(InputError, match="--resume latest"):
        Trainer(crash_config)  # a second run into the same folder must say how to continue
    resumed = train(crash_config, resume="latest")

    assert resumed.step == straight.step == 20
    assert resumed.losses == straight.losses[10:]
    for part in ("model.safetensors", "pipeline/unet/diffusion_pytorch_model.safetensors"):
        expected, actual = load_file(straight.last_checkpoint / part), load_file(resumed.last_checkpoint / part)
        assert expected.keys() == actual.keys()
        different = [key for key in expected if not expected[key].equal(actual[key])]
        assert not different, f"{part}: {len(different)} tensors differ, e.g. {different[:3]}"


def test_checkpoints_rotate_and_carry_their_config(tiny_dataset, tmp_path):
    run = tmp_path / "run"
    train(tiny_config(1, tiny_dataset, run, "training.max_steps=3", "checkpointing.every_steps=1",
                      "checkpointing.total_limit=2"))
    kept = checkpointing.list_checkpoints(run)
    assert [step for step, _ in kept] == [2, 3]
    assert not list((run / "checkpoints").glob(".checkpoint-*"))
    saved = load_config(kept[-1][1] / "config.yaml")
    assert saved.training.max_steps == 3 and saved.data.root == str(tiny_dataset)
    assert (kept[-1][1] / "pipeline" / "model_index.json").is_file()
