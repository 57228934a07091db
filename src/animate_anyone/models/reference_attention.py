"""Reference attention: ReferenceNet's self-attention inputs join the denoising UNet's keys/values.

Done with diffusers attention processors (`set_attn_processor`), keyed by module path:

* `ReferenceWriteProcessor` on every spatial `attn1` of ReferenceNet stores its input (the `norm1`
  output, (R, L_ref, C)) in a `ReferenceBank` under the transformer block's path, then attends as usual.
* `ReferenceReadProcessor` on the matching `attn1` of the denoising UNet attends with queries from its
  own tokens and keys/values over `[own tokens ; reference tokens]`.

The bank is written once per video and shared by every frame, denoising step and window, so the
reference keys/values `to_k(bank)`, `to_v(bank)` are computed once per video (cached in the bank)
and broadcast over frames, instead of being recomputed for every frame at every step.
"""

from __future__ import annotations

import torch
from diffusers.models.attention_processor import Attention, AttnProcessor2_0
from torch import nn
from torch.nn import functional as F

SELF_ATTENTION_SUFFIX = ".attn1.processor"


class ReferenceBank:
    """Reference tokens per transformer-block path, plus which batch samples read them.

    `read_mask`: a bool tensor (B,) over the denoising batch (samples, not frames); `None` means every
    sample reads. Classifier-free guidance sets it False for the unconditional half; training sets it
    False for samples whose condition is dropped.
    """

    def __init__(self) -> None:
        self.tokens: dict[str, torch.Tensor] = {}
        self.read_mask: torch.Tensor | None = None
        self._keys_values: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def write(self, name: str, tokens: torch.Tensor) -> None:
        self.tokens[name] = tokens
        self._keys_values.pop(name, None)

    def clear(self) -> None:
        self.tokens.clear()
        self._keys_values.clear()
        self.read_mask = None

    def keys_values(self, name: str, attn: Attention) -> tuple[torch.Tensor, torch.Tensor]:
        """`to_k`/`to_v` of the reference tokens of block `name`, (R, L_ref, C) each; computed once."""
        if name not in self._keys_values:
            tokens = self.tokens[name]
            self._keys_values[name] = (attn.to_k(tokens), attn.to_v(tokens))
        return self._keys_values[name]


def multi_head_attention(attn: Attention, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """Scaled dot-product attention of projected (N, Lq, C) queries over (N, Lk, C) keys/values."""
    batch, _, inner_dim = query.shape
    head_dim = inner_dim // attn.heads
    query, key, value = (x.view(batch, -1, attn.heads, head_dim).transpose(1, 2) for x in (query, key, value))
    if attn.norm_q is not None:
        query = attn.norm_q(query)
    if attn.norm_k is not None:
        key = attn.norm_k(key)
    hidden_states = F.scaled_dot_product_attention(query, key, value, scale=attn.scale)  # (N, heads, Lq, d)
    return hidden_states.transpose(1, 2).reshape(batch, -1, inner_dim)


def output_projection(attn: Attention, hidden_states: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
    """`to_out` (projection, dropout), then the residual and rescaling that `Attention` may ask for."""
    hidden_states = attn.to_out[1](attn.to_out[0](hidden_states))
    if attn.residual_connection:
        hidden_states = hidden_states + residual
    return hidden_states / attn.rescale_output_factor


class ReferenceWriteProcessor:
    """On ReferenceNet: store the self-attention input in the bank, then attend as usual."""

    def __init__(self, bank: ReferenceBank, name: str) -> None:
        self.bank = bank
        self.name = name
        self.attend = AttnProcessor2_0()

    def __call__(self, attn: Attention, hidden_states: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        self.bank.write(self.name, hidden_states)
        return self.attend(attn, hidden_states, *args, **kwargs)


class ReferenceReadProcessor:
    """On the denoising UNet: self-attention whose keys/values also cover the reference tokens."""

    def __init__(self, bank: ReferenceBank, name: str) -> None:
        self.bank = bank
        self.name = name

    def __call__(
        self,
        attn: Attention,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        temb: torch.Tensor | None = None,
        **kwargs,
    ) -> torch.Tensor:
        # hidden_states: (B*F, L, C), frame-major within each sample
        if encoder_hidden_states is not None or attention_mask is not None:
            raise ValueError("reference attention replaces plain self-attention only")
        query, key, value = attn.to_q(hidden_states), attn.to_k(hidden_states), attn.to_v(hidden_states)
        if self.name not in self.bank.tokens:
            return output_projection(attn, multi_head_attention(attn, query, key, value), hidden_states)

        ref_key, ref_value = self.bank.keys_values(self.name, attn)  # (R, L_ref, C), R = 1 or B
        mask = self.bank.read_mask
        num_samples = len(mask) if mask is not None else ref_key.shape[0]
        if hidden_states.shape[0] % num_samples:
            raise ValueError(f"batch {hidden_states.shape[0]} is not a multiple of {num_samples} samples")
        sample_of_row = torch.arange(hidden_states.shape[0], device=hidden_states.device) // (
            hidden_states.shape[0] // num_samples
        )
        readers = (
            torch.ones_like(sample_of_row, dtype=torch.bool) if mask is None else mask.to(hidden_states.device)[sample_of_row]
        )

        def with_reference(rows: torch.Tensor | slice) -> torch.Tensor:
            source = sample_of_row[rows] if ref_key.shape[0] > 1 else torch.zeros_like(sample_of_row[rows])
            return multi_head_attention(
                attn,
                query[rows],
                torch.cat([key[rows], ref_key[source].to(key.dtype)], dim=1),
                torch.cat([value[rows], ref_value[source].to(value.dtype)], dim=1),
            )

        if bool(readers.all()):
            out = with_reference(slice(None))
        elif not bool(readers.any()):
            out = multi_head_attention(attn, query, key, value)
        else:
            out = torch.empty_like(query)
            out[readers] = with_reference(readers)
            plain = ~readers
            out[plain] = multi_head_attention(attn, query[plain], key[plain], value[plain])
        return output_projection(attn, out, hidden_states)


def spatial_self_attention_paths(model: nn.Module) -> list[str]:
    """Paths of the spatial transformer blocks (not motion modules) whose `attn1` is self-attention."""
    return [
        name[: -len(SELF_ATTENTION_SUFFIX)]
        for name in model.attn_processors
        if name.endswith(SELF_ATTENTION_SUFFIX) and ".attentions." in name
    ]


def _install(model: nn.Module, bank: ReferenceBank | None, processor_class: type) -> list[str]:
    paths = spatial_self_attention_paths(model)
    for path in paths:
        attn = model.get_submodule(f"{path}.attn1")
        if attn.spatial_norm is not None or attn.group_norm is not None or attn.is_cross_attention:
            raise ValueError(f"{path}.attn1 is not a plain self-attention; reference attention cannot use it")
    processors = dict(model.attn_processors)
    for path in paths:
        processors[f"{path}{SELF_ATTENTION_SUFFIX}"] = (
            AttnProcessor2_0() if bank is None else processor_class(bank, path)
        )
    model.set_attn_processor(processors)
    return paths


def install_reference_writer(reference_net: nn.Module, bank: ReferenceBank) -> list[str]:
    """Make ReferenceNet write its spatial self-attention inputs into `bank`; returns the block paths."""
    return _install(reference_net, bank, ReferenceWriteProcessor)


def install_reference_reader(unet: nn.Module, bank: ReferenceBank) -> list[str]:
    """Make the denoising UNet read `bank` in its spatial self-attentions; returns the block paths."""
    return _install(unet, bank, ReferenceReadProcessor)


def remove_reference_attention(model: nn.Module) -> list[str]:
    """Restore plain self-attention on the spatial blocks (writer or reader)."""
    return _install(model, None, ReferenceReadProcessor)
