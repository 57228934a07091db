"""The FID Inception-v3 (TensorFlow's 2015-12-05 graph) with pytorch-fid's key layout.

Module and key names follow torchvision's Inception-v3 (`Conv2d_1a_3x3.conv.weight`,
`Mixed_5b.branch_pool.bn.running_var`, ...), which is the layout of pytorch-fid's published file
`pt_inception-2015-12-05-6726825d.pth`. The FID graph differs from torchvision's network in its
pooling: average pools exclude the zero padding, and the last block max-pools its pool branch.
Output: the 2048-d final average-pool features that FID uses.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from animate_anyone.checkpoints import load_state_dict
from animate_anyone.eval.weights import load_strict, weight_path


class _ConvBN(nn.Module):
    """Bias-free conv, BatchNorm (eps 1e-3), ReLU: torchvision's `BasicConv2d`."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int | tuple, stride: int = 1, padding=0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _avg_pool_3x3(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)  # TF: padding not counted


class _BlockA(nn.Module):
    def __init__(self, c: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = _ConvBN(c, 64, 1)
        self.branch5x5_1, self.branch5x5_2 = _ConvBN(c, 48, 1), _ConvBN(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = _ConvBN(c, 64, 1)
        self.branch3x3dbl_2 = _ConvBN(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = _ConvBN(96, 96, 3, padding=1)
        self.branch_pool = _ConvBN(c, pool_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat(
            [
                self.branch1x1(x),
                self.branch5x5_2(self.branch5x5_1(x)),
                self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                self.branch_pool(_avg_pool_3x3(x)),
            ],
            1,
        )


class _BlockB(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.branch3x3 = _ConvBN(c, 384, 3, stride=2)
        self.branch3x3dbl_1 = _ConvBN(c, 64, 1)
        self.branch3x3dbl_2 = _ConvBN(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = _ConvBN(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), dbl, F.max_pool2d(x, 3, stride=2)], 1)


class _BlockC(nn.Module):
    def __init__(self, c: int, c7: int) -> None:
        super().__init__()
        self.branch1x1 = _ConvBN(c, 192, 1)
        self.branch7x7_1 = _ConvBN(c, c7, 1)
        self.branch7x7_2 = _ConvBN(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = _ConvBN(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = _ConvBN(c, c7, 1)
        self.branch7x7dbl_2 = _ConvBN(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = _ConvBN(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = _ConvBN(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = _ConvBN(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = _ConvBN(c, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        dbl = x
        for k in range(1, 6):
            dbl = getattr(self, f"branch7x7dbl_{k}")(dbl)
        return torch.cat([self.branch1x1(x), b7, dbl, self.branch_pool(_avg_pool_3x3(x))], 1)


class _BlockD(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.branch3x3_1, self.branch3x3_2 = _ConvBN(c, 192, 1), _ConvBN(192, 320, 3, stride=2)
        self.branch7x7x3_1 = _ConvBN(c, 192, 1)
        self.branch7x7x3_2 = _ConvBN(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = _ConvBN(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = _ConvBN(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = x
        for k in range(1, 5):
            b7 = getattr(self, f"branch7x7x3_{k}")(b7)
        return torch.cat([b3, b7, F.max_pool2d(x, 3, stride=2)], 1)


class _BlockE(nn.Module):
    def __init__(self, c: int, max_pool_branch: bool) -> None:
        super().__init__()
        self.max_pool_branch = max_pool_branch  # the FID graph's last block max-pools its pool branch
        self.branch1x1 = _ConvBN(c, 320, 1)
        self.branch3x3_1 = _ConvBN(c, 384, 1)
        self.branch3x3_2a = _ConvBN(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = _ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = _ConvBN(c, 448, 1)
        self.branch3x3dbl_2 = _ConvBN(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = _ConvBN(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = _ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = _ConvBN(c, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        dbl = torch.cat([self.branch3x3dbl_3a(dbl), self.branch3x3dbl_3b(dbl)], 1)
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool_branch else _avg_pool_3x3(x)
        return torch.cat([self.branch1x1(x), b3, dbl, self.branch_pool(pooled)], 1)


class FIDInception(nn.Module):
    """Frames (N, 3, H, W) in [0, 1] → (N, 2048) pool features, as pytorch-fid computes them.

    Frames are resized to 299x299 (bilinear, align_corners=False) and scaled to [-1, 1] first.
    """

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = _ConvBN(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = _ConvBN(32, 32, 3)
        self.Conv2d_2b_3x3 = _ConvBN(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = _ConvBN(64, 80, 1)
        self.Conv2d_4a_3x3 = _ConvBN(80, 192, 3)
        self.Mixed_5b, self.Mixed_5c, self.Mixed_5d = _BlockA(192, 32), _BlockA(256, 64), _BlockA(288, 64)
        self.Mixed_6a = _BlockB(288)
        self.Mixed_6b, self.Mixed_6c = _BlockC(768, 128), _BlockC(768, 160)
        self.Mixed_6d, self.Mixed_6e = _BlockC(768, 160), _BlockC(768, 192)
        self.Mixed_7a = _BlockD(768)
        self.Mixed_7b, self.Mixed_7c = _BlockE(1280, max_pool_branch=False), _BlockE(2048, max_pool_branch=True)
        self.eval().requires_grad_(False)

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(images.float(), size=(299, 299), mode="bilinear", align_corners=False) * 2 - 1
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, stride=2)
        x = F.max_pool2d(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)), 3, stride=2)
        for name in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
            x = getattr(self, f"Mixed_{name}")(x)
        return x.mean((2, 3))  # (N, 2048)


def load_fid_inception(weights_dir: str | Path | None) -> FIDInception:
    """FIDInception with pytorch-fid's published weights; the file's 1008-class `fc` head is not used."""
    model = FIDInception()
    path = weight_path(weights_dir, "inception")
    load_strict(model, load_state_dict(path), path, unused_prefixes=("fc.",))
    return model
