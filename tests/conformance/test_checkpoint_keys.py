"""The converter covers the four released full-size layouts exactly, checked on names and shapes only
(meta tensors: nothing full-size is materialised)."""

from __future__ import annotations

import ast

import pytest
import torch
from diffusers import UNet2DConditionModel

from animate_anyone.checkpoints import strict_key_errors
from animate_anyone.convert import (
    denoising_unet_state,
    motion_module_key,
    motion_positions_of,
    pose_guider_config_of,
    reference_net_state,
)
from animate_anyone.models import AnimateAnyoneUNet, PoseGuider
from animate_anyone.models.builders import SD15_UNET2D_CONFIG, motion_unet_config


def released_layout(shared_dir, name) -> dict[str, torch.Tensor]:
    """Meta tensors named and shaped as in ../shared/reference/checkpoint_keys/NAME.txt."""
    tensors = {}
    for line in (shared_dir / "reference" / "checkpoint_keys" / f"{name}.txt").read_text().splitlines():
        if line.strip():
            key, shape = line.split("\t")
            tensors[key] = torch.empty(ast.literal_eval(shape), device="meta")
    return tensors


def expected_shapes(module: torch.nn.Module) -> dict[str, torch.Size]:
    return {key: value.shape for key, value in module.state_dict().items()}


@pytest.fixture(scope="module")
def layouts(shared_dir):
    return {name: released_layout(shared_dir, name)
            for name in ("denoising_unet", "reference_unet", "pose_guider", "motion_module")}


def test_denoising_unet_and_motion_modules_cover_the_full_size_model(layouts):
    motion = layouts["motion_module"]
    assert motion_positions_of(motion, default=0) == 32
    with torch.device("meta"):
        unet = AnimateAnyoneUNet.from_config(motion_unet_config(SD15_UNET2D_CONFIG, motion_max_seq_length=32))
    assert sum(1 for key in motion if key.endswith("proj_out.weight")) == 21  # down 4x2, mid 1, up 4x3
    state = denoising_unet_state(layouts["denoising_unet"], motion, unet)
    assert strict_key_errors(expected_shapes(unet), state) == []


def test_every_motion_key_has_a_destination_or_is_a_dropped_buffer(layouts):
    dropped = [key for key in layouts["motion_module"] if motion_module_key(key) is None]
    assert dropped and all(key.endswith(".pos_encoder.pe") for key in dropped)
    assert len(dropped) == 2 * 21  # two temporal self-attentions per module


def test_reference_unet_covers_the_full_size_model(layouts):
    with torch.device("meta"):
        reference_net = UNet2DConditionModel.from_config(SD15_UNET2D_CONFIG)
    assert strict_key_errors(expected_shapes(reference_net), layouts["reference_unet"]) != []  # no output head
    state = reference_net_state(layouts["reference_unet"], layouts["denoising_unet"])
    assert strict_key_errors(expected_shapes(reference_net), state) == []


def test_pose_guider_layout_is_read_from_shapes(layouts):
    config = pose_guider_config_of(layouts["pose_guider"])
    assert config == dict(conditioning_embedding_channels=320, conditioning_channels=3,
                          block_out_channels=(16, 32, 96, 256))
    with torch.device("meta"):
        guider = PoseGuider(**config)
    assert strict_key_errors(expected_shapes(guider), layouts["pose_guider"]) == []


def test_strict_errors_name_missing_unexpected_and_misshaped_keys():
    expected = {"a": torch.Size([2]), "b": torch.Size([3]), "c": torch.Size([1])}
    given = {"a": torch.zeros(2), "b": torch.zeros(4), "d": torch.zeros(1)}
    problems = strict_key_errors(expected, given)
    assert problems == ["1 missing: c", "1 unexpected: d", "1 wrongly shaped: b (4,) != (3,)"]


def test_animatediff_motion_modules_load_strictly(shared_dir, tmp_path):
    from safetensors.torch import save_file

    from animate_anyone.convert import load_animatediff_motion_modules
    from animate_anyone.errors import InputError

    weights = shared_dir / "reference" / "published_xs" / "weights"
    config = UNet2DConditionModel.load_config(weights / "sd_base" / "unet")
    unet = AnimateAnyoneUNet.from_config(motion_unet_config(dict(config)))
    spatial_before = {k: v.clone() for k, v in unet.state_dict().items() if ".motion_modules." not in k}
    original = torch.load(weights / "motion_module.pth", weights_only=True)
    save_file({k: v.contiguous() for k, v in original.items()}, tmp_path / "mm.safetensors")
    load_animatediff_motion_modules(unet, tmp_path / "mm.safetensors")
    state = unet.state_dict()
    assert all(torch.equal(state[k], v) for k, v in spatial_before.items())
    for key, value in original.items():
        if motion_module_key(key) is not None:
            assert torch.equal(state[motion_module_key(key)], value.float())
    without_mid = {k: v for k, v in original.items() if not k.startswith("mid_block.")}  # like AnimateDiff v1
    torch.save(without_mid, tmp_path / "mm_v1.pth")
    with pytest.raises(InputError, match="missing: mid_block.motion_modules.0"):
        load_animatediff_motion_modules(unet, tmp_path / "mm_v1.pth")
