"""Feature reuse across denoising steps (DeepCache, Ma et al., 2023, arXiv:2312.00858), for the denoising UNet.

Between neighbouring steps the UNet's deep features change little; its shallowest blocks carry the
detail. On a *full* step the UNet runs whole and the output of its second-to-last up block (the deep
branch's contribution to the last up block) is kept; on a *reuse* step only `conv_in`, the first down
block, the last up block and the output head run, the last up block taking the kept deep features and
the fresh skip connections of the first down block. Every other block (down blocks 1.., the mid block,
up blocks ..-2) is skipped: for that call only, its place in the UNet holds a parameter-free stand-in
module that returns a placeholder of the right structure (what the UNet's forward passes on is never
read) or the kept features. The blocks themselves, their `forward` and their hooks are left untouched.

The features are kept per key (the pipeline uses the temporal window and whether the guidance pair is
batched), so a reuse step reads what the same window computed on the last full step; a key never
recorded runs whole. Memory: one tensor per key, (B*F, C, h, w) at the last up block's input
(for SD-1.5: 640 channels at the latent size).
"""

from __future__ import annotations

import contextlib
from collections.abc import Hashable, Iterator

import torch
from torch import nn


class DeepFeatureCache:
    """Record the deep branch's output on full steps and replay it on reuse steps, per key."""

    def __init__(self, unet: nn.Module):
        if len(unet.down_blocks) < 2 or len(unet.up_blocks) < 2:
            raise ValueError("feature reuse needs a UNet with at least two down and two up blocks")
        self.unet = unet
        self.features: dict[Hashable, torch.Tensor] = {}
        self.reuse = False  # set per step by the caller: True replays recorded features where it can

    def clear(self) -> None:
        self.features.clear()

    @contextlib.contextmanager
    def around(self, key: Hashable) -> Iterator[None]:
        """Wrap one UNet call: replay `key`'s features if `reuse` is set and they exist, else record them."""
        if self.reuse and key in self.features:
            with self._skipping_deep_blocks(self.features[key]):
                yield
            return
        def record(_module, _args, output) -> None:
            self.features[key] = output

        handle = self.unet.up_blocks[-2].register_forward_hook(record)
        try:
            yield
        finally:
            handle.remove()

    @contextlib.contextmanager
    def _skipping_deep_blocks(self, deep_features: torch.Tensor) -> Iterator[None]:
        """Put stand-ins in the UNet's block lists for this call (the blocks themselves are left untouched)."""
        unet = self.unet
        swaps = [(unet.down_blocks, index, _SkippedDownBlock(block)) for index, block in enumerate(unet.down_blocks)
                 if index > 0]
        swaps += [(unet.up_blocks, index, _SkippedBlock(unet.up_blocks[index])) for index in range(len(unet.up_blocks) - 2)]
        swaps.append((unet.up_blocks, len(unet.up_blocks) - 2, _SkippedBlock(unet.up_blocks[-2], deep_features)))
        originals = [(blocks, index, blocks[index]) for blocks, index, _ in swaps]
        mid_block = unet.mid_block
        try:
            for blocks, index, stand_in in swaps:
                blocks[index] = stand_in
            if mid_block is not None:
                unet.mid_block = _SkippedBlock(mid_block)
            yield
        finally:
            for blocks, index, block in originals:
                blocks[index] = block
            unet.mid_block = mid_block


class _SkippedDownBlock(nn.Module):
    """Stands in for a skipped down block: passes its input on, with as many skip connections as the block
    makes (only the skipped up blocks would read them)."""

    def __init__(self, block: nn.Module):
        super().__init__()
        self.skips = len(block.resnets) + (0 if block.downsamplers is None else len(block.downsamplers))

    def forward(self, hidden_states: torch.Tensor, *args, **kwargs) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        return hidden_states, (hidden_states,) * self.skips


class _SkippedBlock(nn.Module):
    """Stands in for a skipped mid or up block: passes its input on, or gives `replay` (the kept deep
    features) instead. `resnets` keeps the block's length, by which the UNet's forward takes its skip
    connections."""

    def __init__(self, block: nn.Module, replay: torch.Tensor | None = None):
        super().__init__()
        self.resnets = [None] * len(block.resnets)
        self.replay = replay

    def forward(self, hidden_states: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        return hidden_states if self.replay is None else self.replay
