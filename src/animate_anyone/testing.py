"""Tiny random components for tests and smoke runs: the full architecture at toy size.

`tiny_pipeline(seed)` is deterministic given the seed. The outputs that the real models
zero-initialise (Pose Guider `conv_out`, motion modules' `proj_out`) are drawn at random here, so that
the pose and the temporal layers visibly change the output of an untrained pipeline.
"""

from __future__ import annotations

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from diffusers.models.unets.unet_motion_model import AnimateDiffTransformer3D
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

from animate_anyone.models.builders import denoising_unet_from_2d
from animate_anyone.models.pose_guider import PoseGuider
from animate_anyone.pipelines.pipeline_animate_anyone import AnimateAnyonePipeline, scheduler_for_animate_anyone

TINY_EMBED_DIM = 32

TINY_UNET2D_CONFIG = dict(
    sample_size=8,
    block_out_channels=(32, 64),  # motion-module norms use 32 groups: widths must be multiples of 32
    layers_per_block=1,
    down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
    cross_attention_dim=TINY_EMBED_DIM,
    attention_head_dim=4,
    norm_num_groups=8,
)


def tiny_vae() -> AutoencoderKL:
    return AutoencoderKL(
        block_out_channels=(16, 16, 32, 32),  # four blocks: 8x downsampling like SD's VAE
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=8,
        sample_size=32,
    )


def tiny_image_encoder() -> CLIPVisionModelWithProjection:
    config = CLIPVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        image_size=32, patch_size=8, projection_dim=TINY_EMBED_DIM,
    )
    return CLIPVisionModelWithProjection(config).eval()


def _randomise_zero_outputs(pose_guider: PoseGuider, unet: torch.nn.Module) -> None:
    layers = [pose_guider.conv_out] + [m.proj_out for m in unet.modules() if isinstance(m, AnimateDiffTransformer3D)]
    for layer in layers:
        torch.nn.init.normal_(layer.weight, std=0.05)
        torch.nn.init.normal_(layer.bias, std=0.05)


def tiny_components(seed: int = 0) -> dict:
    """Every pipeline component at toy size, from `torch.manual_seed(seed)`."""
    torch.manual_seed(seed)
    unet2d = UNet2DConditionModel(**TINY_UNET2D_CONFIG)
    reference_net = UNet2DConditionModel(**TINY_UNET2D_CONFIG)
    unet = denoising_unet_from_2d(unet2d)
    pose_guider = PoseGuider(conditioning_embedding_channels=32, block_out_channels=(8, 16, 16, 32))
    _randomise_zero_outputs(pose_guider, unet)
    return dict(
        vae=tiny_vae(),
        image_encoder=tiny_image_encoder(),
        reference_net=reference_net,
        unet=unet,
        pose_guider=pose_guider,
        scheduler=scheduler_for_animate_anyone(),
    )


def tiny_pipeline(seed: int = 0) -> AnimateAnyonePipeline:
    """A complete pipeline of tiny random components (32-px images work; any multiple of 8 does)."""
    pipeline = AnimateAnyonePipeline(**tiny_components(seed))
    pipeline.set_progress_bar_config(disable=True)
    return pipeline
