"""Training starts from the released checkpoint layout (converter) or from an SD-format base folder."""

from __future__ import annotations

import torch
from training_helpers import tiny_config

from animate_anyone.convert import load_moore_pipeline
from animate_anyone.training.train import Trainer


def test_stage1_starts_from_released_checkpoints(shared_dir, tiny_dataset, tmp_path):
    weights = shared_dir / "reference" / "published_xs" / "weights"
    config = tiny_config(1, tiny_dataset, tmp_path / "run", "model.source=moore", f"model.path={weights}",
                         f"model.base_path={weights / 'sd_base'}", "data.width=64", "data.height=64",
                         "training.batch_size=1", "training.max_steps=2", "checkpointing.every_steps=2")
    trainer = Trainer(config)
    released = load_moore_pipeline(weights, weights / "sd_base")
    for name in ("unet", "reference_net", "pose_guider"):
        start = getattr(trainer.unwrapped, name).state_dict()
        assert all(torch.equal(start[key], value) for key, value in getattr(released, name).state_dict().items())
    result = trainer.fit()
    assert len(result.losses) == 2 and all(torch.isfinite(torch.tensor(result.losses)))
    assert (result.last_checkpoint / "pipeline" / "model_index.json").is_file()


def test_stage1_starts_from_an_sd_format_base_folder(tiny_dataset, tmp_path):
    from diffusers import UNet2DConditionModel

    from animate_anyone.testing import TINY_UNET2D_CONFIG, tiny_image_encoder, tiny_vae

    base = tmp_path / "sd_base"
    torch.manual_seed(3)
    unet2d = UNet2DConditionModel(**TINY_UNET2D_CONFIG)
    unet2d.save_pretrained(base / "unet")
    tiny_vae().save_pretrained(base / "vae")
    tiny_image_encoder().save_pretrained(base / "image_encoder")
    config = tiny_config(1, tiny_dataset, tmp_path / "run", "model.source=sd", f"model.path={base}",
                         "training.max_steps=2", "checkpointing.every_steps=2")
    trainer = Trainer(config)
    model = trainer.unwrapped
    for key, value in unet2d.state_dict().items():  # both UNets start as the base UNet
        assert torch.equal(model.reference_net.state_dict()[key], value)
        assert torch.equal(model.unet.state_dict()[key], value)
    result = trainer.fit()
    assert len(result.losses) == 2 and (result.last_checkpoint / "pipeline" / "unet").is_dir()
