"""Tiny random components for tests and smoke runs: the full architecture at toy size.

`tiny_pipeline(seed)` is deterministic given the seed. The outputs that the real models
zero-initialise (Pose Guider `conv_out`, motion modules' `proj_out`) are drawn at random here, so that
the pose and the temporal layers visibly change the output of an untrained pipeline.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from diffusers.models.unets.unet_motion_model import AnimateDiffTransformer3D
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

from animate_anyone.models.builders import denoising_unet_from_2d
from animate_anyone.models.pose_guider import PoseGuider
from animate_anyone.pipelines.pipeline_animate_anyone import AnimateAnyonePipeline
from animate_anyone.pipelines.schedulers import scheduler_for_animate_anyone

TINY_EMBED_DIM = 32

def tiny_unet2d_config(block_out_channels: tuple[int, ...] = (32, 64)) -> dict:
    """A toy 2D UNet: cross-attention in every block but the deepest (as SD), one layer per block."""
    depth = len(block_out_channels)
    return dict(
        sample_size=8,
        block_out_channels=tuple(block_out_channels),  # motion-module norms use 32 groups: multiples of 32
        layers_per_block=1,
        down_block_types=("CrossAttnDownBlock2D",) * (depth - 1) + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * (depth - 1),
        cross_attention_dim=TINY_EMBED_DIM,
        attention_head_dim=4,
        norm_num_groups=8,
    )


TINY_UNET2D_CONFIG = tiny_unet2d_config()


def tiny_vae(block_out_channels: tuple[int, ...] = (16, 16, 32, 32), layers_per_block: int = 1) -> AutoencoderKL:
    """A toy SD-style VAE: four blocks (8x downsampling), 4 latent channels."""
    depth = len(block_out_channels)
    return AutoencoderKL(
        block_out_channels=tuple(block_out_channels),
        down_block_types=("DownEncoderBlock2D",) * depth,
        up_block_types=("UpDecoderBlock2D",) * depth,
        latent_channels=4,
        layers_per_block=layers_per_block,
        norm_num_groups=8,
        sample_size=32,
    )


def tiny_image_encoder() -> CLIPVisionModelWithProjection:
    config = CLIPVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        image_size=32, patch_size=8, projection_dim=TINY_EMBED_DIM,
    )
    return CLIPVisionModelWithProjection(config)


def _randomise_for_tests(pose_guider: PoseGuider, unet: torch.nn.Module) -> None:
    """Give the zero-initialised outputs random weights, and the Pose Guider a variance-preserving
    init (PyTorch's default shrinks the signal ~3x per conv, so through seven convs an untrained
    guider would map every pose to nearly the same features)."""
    for conv in [pose_guider.conv_in, *pose_guider.blocks, pose_guider.conv_out]:
        torch.nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
        torch.nn.init.zeros_(conv.bias)
    for module in unet.modules():
        if isinstance(module, AnimateDiffTransformer3D):
            module.proj_out.reset_parameters()  # PyTorch's default init instead of zeros


def tiny_components(seed: int = 0) -> dict:
    """Every pipeline component at toy size, from `torch.manual_seed(seed)`."""
    torch.manual_seed(seed)
    unet2d = UNet2DConditionModel(**TINY_UNET2D_CONFIG)
    reference_net = UNet2DConditionModel(**TINY_UNET2D_CONFIG)
    unet = denoising_unet_from_2d(unet2d)
    pose_guider = PoseGuider(conditioning_embedding_channels=32, block_out_channels=(8, 16, 16, 32))
    _randomise_for_tests(pose_guider, unet)
    return dict(
        vae=tiny_vae().eval(),
        image_encoder=tiny_image_encoder().eval(),
        reference_net=reference_net.eval(),
        unet=unet.eval(),
        pose_guider=pose_guider.eval(),
        scheduler=scheduler_for_animate_anyone(),
    )


def tiny_pipeline(seed: int = 0) -> AnimateAnyonePipeline:
    """A complete pipeline of tiny random components (32-px images work; any multiple of 8 does)."""
    pipeline = AnimateAnyonePipeline(**tiny_components(seed))
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def write_png_header(path: str | os.PathLike, width: int, height: int) -> Path:
    """A tiny PNG whose header claims `width` x `height` RGB pixels (a decompression bomb's header):
    what an image loader must refuse before decoding anything."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, deflate, no interlace
    body = zlib.compress(b"\0" * 1024)  # a few rows' worth: the rest would only appear when decoding
    path = Path(path)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b""))
    return path
