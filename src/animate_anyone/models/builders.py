"""Build the Animate Anyone components from configs or from SD-format 2D UNets."""

from __future__ import annotations

from typing import Any

import torch
from diffusers import UNet2DConditionModel
from diffusers.models.unets.unet_motion_model import AnimateDiffTransformer3D

from animate_anyone.checkpoints import load_strict
from animate_anyone.models.motion_unet import AnimateAnyoneUNet

# 2D block type -> its motion counterpart in diffusers.
_MOTION_BLOCK_TYPES = {
    "CrossAttnDownBlock2D": "CrossAttnDownBlockMotion",
    "DownBlock2D": "DownBlockMotion",
    "CrossAttnUpBlock2D": "CrossAttnUpBlockMotion",
    "UpBlock2D": "UpBlockMotion",
}
# UNetMotionModel does not take these UNet2DConditionModel settings (SD-1.5 leaves them at defaults).
_UNSUPPORTED_2D_SETTINGS = {
    "class_embed_type", "num_class_embeds", "addition_embed_type", "time_cond_proj_dim",
    "encoder_hid_dim", "encoder_hid_dim_type",
}


# Stable Diffusion 1.5 (and SD image variations) UNet: the layout of every published Animate Anyone model.
SD15_UNET2D_CONFIG: dict[str, Any] = dict(
    sample_size=64,
    in_channels=4,
    out_channels=4,
    block_out_channels=(320, 640, 1280, 1280),
    layers_per_block=2,
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    cross_attention_dim=768,
    attention_head_dim=8,
    norm_num_groups=32,
)


def motion_unet_config(
    unet2d_config: dict[str, Any], motion_max_seq_length: int = 32, motion_num_attention_heads: int = 8
) -> dict[str, Any]:
    """`AnimateAnyoneUNet` config from an SD-format `UNet2DConditionModel` config.

    Motion modules as in AnimateDiff v2 / the released Animate Anyone checkpoints: one per resnet
    (down 2 per block, up 3 per block) plus one in the mid block, 8 heads, sinusoidal positions up to
    `motion_max_seq_length` (32 for AnimateDiff and Moore-AnimateAnyone, 128 for MusePose).
    """
    for key in _UNSUPPORTED_2D_SETTINGS:
        if unet2d_config.get(key) is not None:
            raise ValueError(f"UNet config sets {key}={unet2d_config[key]!r}, which the motion UNet does not support")
    try:
        down = [_MOTION_BLOCK_TYPES[t] for t in unet2d_config["down_block_types"]]
        up = [_MOTION_BLOCK_TYPES[t] for t in unet2d_config["up_block_types"]]
    except KeyError as error:
        raise ValueError(f"unsupported UNet block type {error}") from None
    # SD-1.5 configs name the head count `attention_head_dim` (a historical diffusers quirk).
    heads = unet2d_config.get("num_attention_heads") or unet2d_config["attention_head_dim"]
    keys = ("sample_size", "in_channels", "out_channels", "block_out_channels", "layers_per_block",
            "downsample_padding", "mid_block_scale_factor", "act_fn", "norm_num_groups", "norm_eps",
            "cross_attention_dim", "use_linear_projection", "transformer_layers_per_block")
    config = {key: unet2d_config[key] for key in keys if key in unet2d_config}
    config.update(
        down_block_types=down,
        up_block_types=up,
        num_attention_heads=heads,
        motion_max_seq_length=motion_max_seq_length,
        motion_num_attention_heads=motion_num_attention_heads,
        use_motion_mid_block=True,
    )
    return config


def zero_motion_outputs(unet: AnimateAnyoneUNet) -> None:
    """Zero every motion module's `proj_out`, so new modules start as the identity (AnimateDiff's init)."""
    for module in unet.modules():
        if isinstance(module, AnimateDiffTransformer3D):
            torch.nn.init.zeros_(module.proj_out.weight)
            torch.nn.init.zeros_(module.proj_out.bias)


def denoising_unet_from_2d(
    unet2d: UNet2DConditionModel, motion_max_seq_length: int = 32, motion_num_attention_heads: int = 8
) -> AnimateAnyoneUNet:
    """The denoising UNet with `unet2d`'s spatial weights and new (identity-initialised) motion modules."""
    unet = AnimateAnyoneUNet.from_config(
        motion_unet_config(dict(unet2d.config), motion_max_seq_length, motion_num_attention_heads)
    )
    zero_motion_outputs(unet)
    state = {key: value for key, value in unet.state_dict().items() if ".motion_modules." in key}
    state.update(unet2d.state_dict())
    load_strict(unet, state, "the 2D UNet's spatial weights")
    return unet if unet2d.dtype == unet.dtype else unet.to(unet2d.dtype)
