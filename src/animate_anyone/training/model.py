"""The trained part of Animate Anyone as one module: ReferenceNet + Pose Guider + denoising UNet.

One `nn.Module` is what `accelerate` prepares (DDP/DeepSpeed wrap it, its state is checkpointed).
Which parameters train depends on the stage (DESIGN §5):

* stage 1 (images): the denoising UNet's spatial layers, ReferenceNet and the Pose Guider. Frames are
  F = 1 clips through the motion UNet with its motion modules frozen (new modules are the identity:
  zero `proj_out`, so this is the 2D UNet of the paper). ReferenceNet's layers after the last spatial
  self-attention input (the rest of its last transformer block, `proj_out`, `conv_norm_out`,
  `conv_out`) never reach the loss and stay frozen.
* stage 2 (video): the motion modules only; ReferenceNet and the Pose Guider run without gradients.

Without a ReferenceNet (the no-ReferenceNet ablation) every sample reads an empty bank: the UNet's
self-attention sees no reference tokens, as for condition-dropped samples.
"""

from __future__ import annotations

import torch
from diffusers import UNet2DConditionModel
from torch import nn

from animate_anyone.models.motion_unet import AnimateAnyoneUNet
from animate_anyone.models.pose_guider import PoseGuider
from animate_anyone.models.reference_attention import (
    ReferenceBank,
    install_reference_reader,
    install_reference_writer,
)

MOTION_MARKER = ".motion_modules."


class UncachedReferenceBank(ReferenceBank):
    """A bank that computes the reference keys/values at every read.

    In training each block reads the bank once per forward, so caching saves nothing; and gradient
    checkpointing recomputes the reading attention in the backward pass, which must redo the same
    `to_k`/`to_v` ops it did in the forward pass (a cache hit would not)."""

    def keys_values(self, name, attn):
        tokens = self.tokens[name]
        return attn.to_k(tokens), attn.to_v(tokens)


def is_motion_parameter(name: str) -> bool:
    return MOTION_MARKER in name


def reference_net_unused_prefixes(reference_net: UNet2DConditionModel) -> list[str]:
    """Parameter-name prefixes of ReferenceNet layers downstream of its last bank write (no gradient ever)."""
    up = len(reference_net.up_blocks) - 1
    last_block = reference_net.up_blocks[up]
    if not hasattr(last_block, "attentions"):
        raise ValueError("ReferenceNet's last up block has no attention: cannot tell which layers feed the bank")
    attention = len(last_block.attentions) - 1
    block = len(last_block.attentions[attention].transformer_blocks) - 1
    base = f"up_blocks.{up}.attentions.{attention}"
    prefixes = [f"{base}.transformer_blocks.{block}.{part}." for part in ("attn1", "norm2", "attn2", "norm3", "ff")]
    prefixes += [f"{base}.proj_out.", "conv_norm_out.", "conv_out."]
    if getattr(last_block, "upsamplers", None):
        prefixes.append(f"up_blocks.{up}.upsamplers.")
    return prefixes


class AnimateAnyoneTrainingModel(nn.Module):
    """Forward: noisy latents + conditions -> the UNet's prediction (B, C, F, h, w)."""

    def __init__(self, reference_net: UNet2DConditionModel | None, unet: AnimateAnyoneUNet, pose_guider: PoseGuider,
                 stage: int):
        super().__init__()
        self.reference_net, self.unet, self.pose_guider = reference_net, unet, pose_guider
        self.stage = stage
        self.bank = UncachedReferenceBank()
        self.install_reference_attention()
        self.set_trainable()

    def install_reference_attention(self) -> None:
        """(Re)install the training bank's processors (a pipeline built on the same modules replaces them)."""
        if self.reference_net is not None:
            install_reference_writer(self.reference_net, self.bank)
        install_reference_reader(self.unet, self.bank)

    def set_trainable(self) -> None:
        self.requires_grad_(False)
        if self.stage == 1:
            if self.reference_net is not None:
                unused = tuple(reference_net_unused_prefixes(self.reference_net))
                for name, parameter in self.reference_net.named_parameters():
                    parameter.requires_grad_(not name.startswith(unused))
            for name, parameter in self.unet.named_parameters():
                parameter.requires_grad_(not is_motion_parameter(name))
            self.pose_guider.requires_grad_(True)
        else:
            for name, parameter in self.unet.named_parameters():
                parameter.requires_grad_(is_motion_parameter(name))

    def enable_gradient_checkpointing(self) -> None:
        self.unet.enable_gradient_checkpointing()
        if self.stage == 1 and self.reference_net is not None:
            self.reference_net.enable_gradient_checkpointing()

    def forward(self, noisy_latents: torch.Tensor, timesteps: torch.Tensor, reference_latents: torch.Tensor,
                clip_embeds: torch.Tensor, pose_pixels: torch.Tensor, read_reference: torch.Tensor) -> torch.Tensor:
        """
        noisy_latents (B, C, F, h, w); timesteps (B,); reference_latents (B, C, h, w);
        clip_embeds (B, 1, D), zero for dropped samples; pose_pixels (B, 3, F, H, W) in [0, 1];
        read_reference (B,) bool, False for dropped samples (they attend without reference tokens).

        The bank keeps this step's tokens after the call: the backward pass of a checkpointed UNet
        reads them again. The next forward replaces them.
        """
        batch, _, frames = noisy_latents.shape[:3]
        self.bank.clear()
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.stage == 1):
            # else: an empty bank, plain self-attention for every sample
            if self.reference_net is not None and bool(read_reference.any()):
                zero = torch.zeros((), dtype=torch.long, device=reference_latents.device)
                self.reference_net(reference_latents, zero, encoder_hidden_states=clip_embeds, return_dict=False)
            pose_features = self.pose_guider(pose_pixels.transpose(1, 2).flatten(0, 1))  # (B*F, C0, h, w)
        pose_features = pose_features.unflatten(0, (batch, frames)).transpose(1, 2)  # (B, C0, F, h, w)
        self.bank.sources = torch.where(read_reference, torch.arange(batch, device=read_reference.device), -1)
        return self.unet(noisy_latents, timesteps, encoder_hidden_states=clip_embeds,
                         pose_features=pose_features, return_dict=False)[0]
