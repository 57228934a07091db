"""Feature reuse across denoising steps (DeepCache, Ma et al., 2023, arXiv:2312.00858), for the denoising UNet.

Between neighbouring steps the UNet's deep features change little; its shallowest blocks carry the
detail. On a *full* step the UNet runs whole and the output of its second-to-last up block (the deep
branch's contribution to the last up block) is kept; on a *reuse* step only `conv_in`, the first down
block, the last up block and the output head run, the last up block taking the kept deep features and
the fresh skip connections of the first down block. Every other block (down blocks 1.., the mid block,
up blocks ..-2) is skipped: its `forward` is swapped, for that call only, for one that returns a
placeholder of the right structure (what the parent's forward passes on is never read) or the kept
features.

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
        unet = self.unet

        def hidden_states_of(args, kwargs) -> torch.Tensor:
            return kwargs["hidden_states"] if "hidden_states" in kwargs else args[0]

        def down_placeholder(block: nn.Module):
            count = len(block.resnets) + (0 if block.downsamplers is None else len(block.downsamplers))

            def forward(*args, **kwargs):
                hidden_states = hidden_states_of(args, kwargs)
                return hidden_states, (hidden_states,) * count  # skip connections only skipped blocks would read
            return forward

        swapped: dict[nn.Module, object] = {block: down_placeholder(block) for block in unet.down_blocks[1:]}
        if unet.mid_block is not None:
            swapped[unet.mid_block] = lambda *args, **kwargs: hidden_states_of(args, kwargs)
        for block in unet.up_blocks[:-2]:
            swapped[block] = lambda *args, **kwargs: hidden_states_of(args, kwargs)
        swapped[unet.up_blocks[-2]] = lambda *args, **kwargs: deep_features
        previous = {block: block.__dict__.get("forward") for block in swapped}  # accelerate's hooks live there
        for block, forward in swapped.items():
            block.forward = forward  # an instance attribute: nn.Module.__call__ finds it before the class's
        try:
            yield
        finally:
            for block, forward in previous.items():
                if forward is None:
                    del block.forward
                else:
                    block.forward = forward
