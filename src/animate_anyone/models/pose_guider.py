"""Pose Guider: a small conv encoder of the rendered pose image down to the latent grid."""

from __future__ import annotations

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn
from torch.nn import functional as F


class PoseGuider(ModelMixin, ConfigMixin):
    """Pose image (RGB in [0, 1], not normalised) -> features added to the UNet's `conv_in` output.

    conv_in (3x3) to c0, then for each step of the channel list a 3x3 conv at stride 1 and one at
    stride 2 (so len(block_out_channels) - 1 halvings: 8x for four entries), SiLU after each, then a
    zero-initialised 3x3 conv to the UNet's first block width, so training starts from "no pose".
    The paper uses (16, 32, 64, 128); the released re-implementation checkpoints use (16, 32, 96, 256).
    Parameter names match those checkpoints (`conv_in`, `blocks.N`, `conv_out`).
    """

    @register_to_config
    def __init__(
        self,
        conditioning_embedding_channels: int = 320,
        conditioning_channels: int = 3,
        block_out_channels: tuple[int, ...] = (16, 32, 64, 128),
    ):
        super().__init__()
        self.conv_in = nn.Conv2d(conditioning_channels, block_out_channels[0], kernel_size=3, padding=1)
        self.blocks = nn.ModuleList()
        for channels_in, channels_out in zip(block_out_channels[:-1], block_out_channels[1:]):
            self.blocks.append(nn.Conv2d(channels_in, channels_in, kernel_size=3, padding=1))
            self.blocks.append(nn.Conv2d(channels_in, channels_out, kernel_size=3, padding=1, stride=2))
        self.conv_out = nn.Conv2d(block_out_channels[-1], conditioning_embedding_channels, kernel_size=3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    @property
    def downscale_factor(self) -> int:
        return 2 ** (len(self.config.block_out_channels) - 1)

    def forward(self, pose_images: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) in [0, 1] -> (N, C_out, H / s, W / s), s = `downscale_factor`."""
        features = F.silu(self.conv_in(pose_images))
        for block in self.blocks:
            features = F.silu(block(features))
        return self.conv_out(features)
