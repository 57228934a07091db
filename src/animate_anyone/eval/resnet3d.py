"""3D ResNet-50 (Hara et al., 2018), Kinetics-400: the FID-VID feature network of DisCo.

Key layout of `resnet-50-kinetics.pth` (a {'state_dict': ...} checkpoint whose keys carry
DataParallel's "module." prefix): `conv1.weight`, `bn1.*`, `layer<i>.<j>.conv<k>.weight`,
`layer<i>.<j>.bn<k>.*`, `layer<i>.0.downsample.{0,1}.*` (shortcut type B), `fc.*` (unused).
The FID-VID feature is the 2048-d global average of the last block.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from animate_anyone.checkpoints import load_state_dict
from animate_anyone.eval.weights import load_strict, weight_path

# DisCo subtracts this per-channel mean (RGB, 0-255 scale) and does not divide by a std.
PIXEL_MEAN = (114.7748, 107.7354, 99.4750)


class _Bottleneck(nn.Module):
    def __init__(self, in_channels: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv3d(in_channels, planes, 1, bias=False), nn.BatchNorm3d(planes)
        self.conv2 = nn.Conv3d(planes, planes, 3, stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm3d(planes)
        self.conv3, self.bn3 = nn.Conv3d(planes, planes * 4, 1, bias=False), nn.BatchNorm3d(planes * 4)
        self.downsample = None
        if stride != 1 or in_channels != planes * 4:
            self.downsample = nn.Sequential(
                nn.Conv3d(in_channels, planes * 4, 1, stride, bias=False), nn.BatchNorm3d(planes * 4)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet3D50(nn.Module):
    """Clips (N, 3, T, 112, 112) in [0, 1] → (N, 2048) features (the published model at T = 16)."""

    def __init__(self, layers: tuple[int, int, int, int] = (3, 4, 6, 3)) -> None:
        super().__init__()
        self.conv1 = nn.Conv3d(3, 64, 7, stride=(1, 2, 2), padding=3, bias=False)
        self.bn1 = nn.BatchNorm3d(64)
        in_channels = 64
        for index, (planes, blocks) in enumerate(zip((64, 128, 256, 512), layers)):
            stride = 1 if index == 0 else 2
            stage = []
            for block in range(blocks):
                stage.append(_Bottleneck(in_channels, planes, stride if block == 0 else 1))
                in_channels = planes * 4
            self.add_module(f"layer{index + 1}", nn.Sequential(*stage))
        self.register_buffer("pixel_mean", torch.tensor(PIXEL_MEAN).view(1, 3, 1, 1, 1), persistent=False)
        self.eval().requires_grad_(False)

    @torch.no_grad()
    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        x = clips.float() * 255 - self.pixel_mean
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.max_pool3d(x, 3, stride=2, padding=1)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        # The published model's AvgPool3d((ceil(T/16), 4, 4)) covers the whole map at T=16, 112x112.
        return x.mean((2, 3, 4))


def load_resnet3d(weights_dir: str | Path | None) -> ResNet3D50:
    """ResNet3D50 with the published `resnet-50-kinetics.pth`; its 400-class `fc` head is not used."""
    model = ResNet3D50()
    path = weight_path(weights_dir, "resnet3d")
    load_strict(model, load_state_dict(path), path, unused_prefixes=("fc.",), strip_prefix="module.")
    return model
