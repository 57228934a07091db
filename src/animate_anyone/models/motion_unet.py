"""The denoising UNet: diffusers' `UNetMotionModel` with the two changes Animate Anyone needs.

1. Motion modules normalise each frame on its own. AnimateDiff's temporal transformer applies its
   input GroupNorm to (B*F, C, H, W), i.e. statistics per frame; diffusers' `AnimateDiffTransformer3D`
   applies it to (B, C, F, H, W), mixing all frames' statistics. `FrameGroupNorm` restores the
   AnimateDiff behaviour with the same parameters (keys stay `...norm.weight/bias`). AnimateDiff
   builds these norms with 32 groups whatever the UNet's own `norm_num_groups` is; so do we.
2. Pose features are added to the output of `conv_in` (before the first down block, so the first
   skip connection carries them too): `forward(..., pose_features=...)`.

It also takes diffusers' attention levers as `UNet2DConditionModel` does: `set_attention_slice`
(`UNetMotionModel` has none, so `pipe.enable_attention_slicing()` would skip the denoising UNet), and
`set_default_attn_processor` with the reference processor installed (see `reference_attention`).
"""

from __future__ import annotations

import functools

import torch
from diffusers import UNet2DConditionModel, UNetMotionModel
from diffusers.models.attention_processor import CROSS_ATTENTION_PROCESSORS, AttnProcessor
from diffusers.models.modeling_utils import ModelMixin  # noqa: F401 (see below)
from diffusers.models.unets.unet_motion_model import AnimateDiffTransformer3D
from torch import nn
from torch.nn import functional as F

from animate_anyone.models.reference_attention import ReferenceAttnProcessor

# `DiffusionPipeline.from_pretrained` finds a custom component's loader by looking up its base
# classes (`ModelMixin`) in the component's own module, so this module must have that name.

# AnimateDiff's TemporalTransformer3DModel default, used by every released motion module.
MOTION_NORM_GROUPS = 32


class FrameGroupNorm(nn.GroupNorm):
    """GroupNorm over a (B, C, F, H, W) tensor with statistics per frame (over C/G x H x W)."""

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        batch, channels, frames, height, width = hidden_states.shape
        per_frame = hidden_states.transpose(1, 2).reshape(batch * frames, channels, height, width)
        normed = F.group_norm(per_frame, self.num_groups, self.weight, self.bias, self.eps)
        return normed.reshape(batch, frames, channels, height, width).transpose(1, 2)


def use_frame_group_norm(model: nn.Module) -> None:
    """Swap every motion module's input GroupNorm for a `FrameGroupNorm` (in place, idempotent)."""
    for module in model.modules():
        if isinstance(module, AnimateDiffTransformer3D) and not isinstance(module.norm, FrameGroupNorm):
            old = module.norm
            if old.num_channels % MOTION_NORM_GROUPS:
                raise ValueError(
                    f"motion modules need channel counts divisible by {MOTION_NORM_GROUPS}, got {old.num_channels}"
                )
            new = FrameGroupNorm(MOTION_NORM_GROUPS, old.num_channels, eps=old.eps, affine=old.affine)
            new.load_state_dict(old.state_dict())
            module.norm = new.to(device=old.weight.device, dtype=old.weight.dtype)


class AnimateAnyoneUNet(UNetMotionModel):
    """`UNetMotionModel` with per-frame motion-module norms and pose features after `conv_in`.

    Same config and state-dict keys as `UNetMotionModel`; build it with `from_unet2d`,
    `from_config` or `from_pretrained` like the parent.
    """

    @functools.wraps(UNetMotionModel.__init__)  # keeps the parent's signature for ConfigMixin
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        use_frame_group_norm(self)

    # Same semantics ("auto", "max", an int or a list per attention layer), over every attention layer.
    set_attention_slice = UNet2DConditionModel.set_attention_slice

    def set_default_attn_processor(self) -> None:
        """diffusers' default processor (`AttnProcessor`) on every attention layer. `ReferenceAttnProcessor`
        is SDPA plus the reference keys/values, so it counts as a default-compatible processor; the
        reference readers keep reading the bank under `AttnProcessor`."""
        processors = self.attn_processors.values()
        if not all(isinstance(p, ReferenceAttnProcessor) or p.__class__ in CROSS_ATTENTION_PROCESSORS for p in processors):
            return super().set_default_attn_processor()  # raises diffusers' own ValueError
        self.set_attn_processor(AttnProcessor())

    def forward(
        self,
        sample: torch.Tensor,
        timestep: torch.Tensor | float | int,
        encoder_hidden_states: torch.Tensor,
        pose_features: torch.Tensor | None = None,
        **kwargs,
    ):
        """Denoise `sample` (B, C, F, h, w).

        `encoder_hidden_states`: (B, L, D), or (B*F, L, D) already repeated per frame.
        `pose_features`: (B, C0, F, h, w) from the Pose Guider, C0 = block_out_channels[0].
        Other keyword arguments are `UNetMotionModel.forward`'s.
        """
        batch, _, frames = sample.shape[:3]
        if encoder_hidden_states.shape[0] == batch and frames > 1:
            encoder_hidden_states = encoder_hidden_states.repeat_interleave(frames, dim=0)
        if pose_features is None:
            return super().forward(sample, timestep, encoder_hidden_states, **kwargs)
        if pose_features.shape[0] != batch or pose_features.shape[2] != frames:
            raise ValueError(f"pose_features {tuple(pose_features.shape)} do not match sample {tuple(sample.shape)}")
        # (B, C0, F, h, w) -> (B*F, C0, h, w), frame-major like the UNet folds `sample`
        folded = pose_features.transpose(1, 2).flatten(0, 1).to(sample.dtype)
        hook = self.conv_in.register_forward_hook(lambda _module, _args, output: output + folded)
        try:
            return super().forward(sample, timestep, encoder_hidden_states, **kwargs)
        finally:
            hook.remove()
