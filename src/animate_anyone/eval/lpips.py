"""LPIPS networks (Zhang et al., 2018) in the layout of the `lpips` package's published weights.

The backbone keeps torchvision's key names (`features.<index>.weight`), so torchvision's AlexNet /
VGG-16 ImageNet files load as they are; the linear heads keep the lpips package's names
(`lin<k>.model.1.weight`, index 1 because a Dropout sits at index 0), so its v0.1 `alex.pth` /
`vgg.pth` load as they are. The distance itself is `metrics.lpips_distance`.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from animate_anyone.eval.metrics import lpips_distance
from animate_anyone.checkpoints import load_state_dict
from animate_anyone.eval.weights import load_strict, weight_path

# torchvision `features` layouts: an int is a 3x3-or-given conv's output channels, "M" a max-pool.
# AlexNet convs: (out, kernel, stride, padding); pools are 3x3 stride 2.
_ALEXNET_CONVS = {0: (64, 11, 4, 2), 3: (192, 5, 1, 2), 6: (384, 3, 1, 1), 8: (256, 3, 1, 1), 10: (256, 3, 1, 1)}
_ALEXNET_POOLS = (2, 5, 12)
_VGG16_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")

# Index of the ReLU after which each LPIPS layer is tapped, and its channel count.
TAPS = {
    "alex": ((1, 64), (4, 192), (7, 384), (9, 256), (11, 256)),
    "vgg": ((3, 64), (8, 128), (15, 256), (22, 512), (29, 512)),
}
# LPIPS v0.1 input scaling: (x - shift) / scale on [-1, 1] images.
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)


def _alexnet_features() -> nn.Sequential:
    layers: list[nn.Module] = []
    in_channels = 3
    for index in range(13):
        if index in _ALEXNET_CONVS:
            out, kernel, stride, padding = _ALEXNET_CONVS[index]
            layers.append(nn.Conv2d(in_channels, out, kernel, stride, padding))
            in_channels = out
        elif index in _ALEXNET_POOLS:
            layers.append(nn.MaxPool2d(3, 2))
        else:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _vgg16_features() -> nn.Sequential:
    layers: list[nn.Module] = []
    in_channels = 3
    for item in _VGG16_LAYOUT:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(in_channels, item, 3, padding=1), nn.ReLU()]
            in_channels = item
    return nn.Sequential(*layers)


class _LinearHead(nn.Module):
    """The lpips package's `NetLinLayer`: Dropout (index 0, identity at eval) then a bias-free 1x1 conv."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.model = nn.Sequential(nn.Dropout(), nn.Conv2d(channels, 1, 1, bias=False))


class LPIPS(nn.Module):
    """LPIPS v0.1 with an AlexNet ("alex") or VGG-16 ("vgg") backbone; frames (N, 3, H, W) in [0, 1]."""

    def __init__(self, net: str = "alex") -> None:
        super().__init__()
        if net not in TAPS:
            raise ValueError(f"net must be one of {sorted(TAPS)}, got {net!r}")
        self.net_name = net
        self.features = _alexnet_features() if net == "alex" else _vgg16_features()
        for k, (_, channels) in enumerate(TAPS[net]):
            self.add_module(f"lin{k}", _LinearHead(channels))
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1), persistent=False)
        self.eval().requires_grad_(False)

    def activations(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Backbone activations at the five taps, each (N, C_l, H_l, W_l), of images in [0, 1]."""
        x = ((images * 2 - 1) - self.shift) / self.scale
        taps = dict(TAPS[self.net_name])
        outputs = []
        last_tap = max(taps)
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in taps:
                outputs.append(x)
            if index == last_tap:
                break
        return outputs

    def linear_weights(self) -> list[torch.Tensor]:
        """The five (C_l,) channel weights of the linear heads."""
        return [getattr(self, f"lin{k}").model[1].weight.flatten() for k in range(len(TAPS[self.net_name]))]

    @torch.no_grad()
    def forward(self, generated: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """LPIPS per frame of two (N, 3, H, W) batches in [0, 1] → (N,)."""
        return lpips_distance(self.activations(generated), self.activations(target), self.linear_weights())


def load_lpips(weights_dir: str | Path | None, net: str = "alex") -> LPIPS:
    """LPIPS with torchvision's backbone file and the lpips package's linear file, both from `weights_dir`."""
    model = LPIPS(net)
    backbone_path = weight_path(weights_dir, "alexnet" if net == "alex" else "vgg16")
    linear_path = weight_path(weights_dir, f"lpips_{net}")
    # The two files together are the whole model; the backbone file's classifier head is not used.
    state_dict = {**load_state_dict(backbone_path), **load_state_dict(linear_path)}
    load_strict(model, state_dict, f"{backbone_path} + {linear_path}", unused_prefixes=("classifier.",))
    return model
