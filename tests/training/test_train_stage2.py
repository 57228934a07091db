"""Stage 2 trains the motion modules and nothing else."""

from __future__ import annotations

import torch
from training_helpers import tiny_config

from animate_anyone.training.train import Trainer


def test_stage2_changes_only_motion_module_weights(tiny_dataset, tmp_path):
    config = tiny_config(2, tiny_dataset, tmp_path / "run", "training.max_steps=3", "checkpointing.every_steps=3",
                         "data.num_frames=4", "training.batch_size=1", "training.use_ema=true")
    trainer = Trainer(config)
    frozen = {"vae": trainer.vae, "image_encoder": trainer.image_encoder}
    before = {f"{part}.{name}": p.detach().clone() for part, module in frozen.items()
              for name, p in module.named_parameters()}
    before.update({name: p.detach().clone() for name, p in trainer.unwrapped.named_parameters()})
    result = trainer.fit()
    after = {f"{part}.{name}": p for part, module in frozen.items() for name, p in module.named_parameters()}
    after.update(dict(trainer.unwrapped.named_parameters()))

    changed = [name for name in before if not torch.equal(before[name], after[name])]
    assert changed and all(".motion_modules." in name for name in changed), [
        name for name in changed if ".motion_modules." not in name][:5]
    assert any(name.endswith("proj_out.weight") for name in changed)  # zero-initialised, now trained
    assert result.last_checkpoint.joinpath("pipeline", "unet").is_dir()
