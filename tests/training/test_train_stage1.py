"""Stage 1 on the tiny generated dataset: the loss goes down, what trains is what should, the result animates."""

from __future__ import annotations

import json

import numpy as np
import torch
from training_helpers import tiny_config

from animate_anyone.cli import main
from animate_anyone.data.video_io import read_video_frames, save_image, video_info
from animate_anyone.training.train import Trainer


def test_short_stage1_run_lowers_the_loss_and_its_checkpoint_animates(tiny_dataset, tmp_path):
    config = tiny_config(1, tiny_dataset, tmp_path / "run", "training.max_steps=30", "checkpointing.every_steps=30")
    trainer = Trainer(config)
    before = trainer.fixed_loss()
    initial = {name: p.detach().clone() for name, p in trainer.unwrapped.named_parameters()}
    result = trainer.fit()
    after = trainer.fixed_loss()
    assert after < 0.75 * before, f"fixed-sample loss {before:.4f} -> {after:.4f}"
    assert len(result.losses) == 30 and all(np.isfinite(result.losses))

    # stage 1 trains the spatial UNet, ReferenceNet (up to its last bank write) and the Pose Guider
    changed = {name for name, p in trainer.unwrapped.named_parameters() if not torch.equal(p, initial[name])}
    assert not [name for name in changed if ".motion_modules." in name]
    assert any(name.startswith("pose_guider.") for name in changed)
    assert any(name.startswith("reference_net.") for name in changed)
    assert "reference_net.conv_out.weight" not in changed

    checkpoint = result.last_checkpoint
    assert checkpoint.name == "checkpoint-0000030"
    assert json.loads((checkpoint / "progress.json").read_text())["step"] == 30
    assert (checkpoint / "config.yaml").is_file() and (tmp_path / "run" / "logs").is_dir()
    reference = save_image(tmp_path / "reference.png", read_video_frames(tiny_dataset / "videos/clip0.mp4", indices=[0])[0])
    output = tmp_path / "animated.mp4"
    code = main(["animate", "--model", str(checkpoint / "pipeline"), "--reference", str(reference),
                 "--pose", str(tiny_dataset / "kps/clip1_kps.mp4"), "--frames", "3", "--width", "32",
                 "--height", "32", "--steps", "2", "--output", str(output)])
    assert code == 0 and video_info(output).num_frames == 3


def test_stage1_from_a_stage2_pipeline_can_reset_its_motion_modules(tmp_path):
    """`model.reset_motion_modules`: the motion modules' outputs go back to zero (identity modules, as
    new ones), every other weight is the pipeline's; without it the trained motion modules are kept."""
    from animate_anyone.testing import tiny_pipeline
    from animate_anyone.training.config import ModelConfig
    from animate_anyone.training.initialisation import load_components

    pipeline = tiny_pipeline()
    torch.manual_seed(0)
    for name, parameter in pipeline.unet.named_parameters():
        if ".motion_modules." in name and ".proj_out." in name:
            parameter.data.normal_()  # a trained-looking, non-identity motion module
    pipeline.save_pretrained(tmp_path / "pipeline")
    saved = pipeline.unet.state_dict()
    for reset in (False, True):
        unet = load_components(ModelConfig(source="pipeline", path=str(tmp_path / "pipeline"),
                                           reset_motion_modules=reset))["unet"]
        for name, value in unet.state_dict().items():
            if reset and ".motion_modules." in name and ".proj_out." in name:
                assert not value.any(), name
            else:
                assert torch.equal(value, saved[name]), name
