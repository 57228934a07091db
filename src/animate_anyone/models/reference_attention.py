"""Reference attention: ReferenceNet's self-attention inputs join the denoising UNet's keys/values.

The reference logic lives in forward pre-hooks on the spatial self-attention (`attn1`) modules, so it
does not depend on which attention processor (the "backend") is installed:

* `ReferenceWriter`, on every spatial `attn1` of ReferenceNet, stores the module's input (the `norm1`
  output, (R, L_ref, C): one row per reference image) in a `ReferenceBank` under the transformer block's
  path. Whatever processor then computes ReferenceNet's self-attention does not matter.
* `ReferenceReader`, on the matching `attn1` of the denoising UNet, makes the installed processor attend
  with keys/values over `[own tokens ; reference tokens]` (queries: own tokens only):
  - with our `ReferenceAttnProcessor` (the default), it hands over the reference keys/values, which the
    bank computes once per video (`to_k`, `to_v` of the bank) and which are broadcast over frames,
    windows and steps: an exact saving the published implementations do not make;
  - with one of diffusers' processors that attend over `encoder_hidden_states` (SDPA, the math
    processor, sliced attention, xFormers, NPU), it passes `encoder_hidden_states = [own ; reference]`
    and, for samples that must not read the reference (the unconditional half of guidance), an additive
    attention mask that hides the reference tokens. Same numbers, the published cost (the reference is
    projected for every frame at every step);
  - with any other processor (subclasses of those included) it raises `ValueError` rather than
    silently drop the reference.

Hooks live on the modules, so they survive `set_attn_processor`, `.to()`, save/load (they are
reinstalled by the pipeline's constructor) and accelerate's offload hooks (which wrap `forward`, inside
the pre-hooks). Installing again replaces, never stacks; `check_reference_attention` tells whether a
UNet still reads a given bank with a processor that can.
"""

from __future__ import annotations

import torch
from diffusers.models.attention_processor import (
    Attention,
    AttnProcessor,
    AttnProcessor2_0,
    AttnProcessorNPU,
    SlicedAttnProcessor,
    XFormersAttnProcessor,
)
from torch import nn
from torch.nn import functional as F

SELF_ATTENTION_SUFFIX = ".attn1.processor"
_HOOK_ATTRIBUTE = "_reference_attention_hook"

# diffusers processors that compute softmax(q k^T / sqrt(d) + mask) v with keys/values projected from
# `encoder_hidden_states` and honour an additive (B, 1, L_k) mask: they compute reference attention
# when given the concatenated tokens. Exact classes: a subclass may compute something else.
CONCATENATING_PROCESSORS = (AttnProcessor, AttnProcessor2_0, SlicedAttnProcessor, XFormersAttnProcessor,
                            AttnProcessorNPU)


class ReferenceBank:
    """Reference tokens per transformer-block path (R rows, one per reference image), plus which bank
    row each sample of the next UNet batch reads.

    `sources`: a long tensor (S,) over the samples of the denoising batch (samples, not frames): the
    bank row sample s reads, or -1 for none (the unconditional half of guidance; condition-dropped
    training samples). `None`: every sample reads, and the samples are the bank rows each repeated
    S / R times in a row (R = 1: all read row 0; R = S: sample s reads row s).
    """

    def __init__(self) -> None:
        self.tokens: dict[str, torch.Tensor] = {}
        self.sources: torch.Tensor | None = None
        self._keys_values: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def write(self, name: str, tokens: torch.Tensor) -> None:
        self.tokens[name] = tokens
        self._keys_values.pop(name, None)

    def clear(self) -> None:
        self.tokens.clear()
        self._keys_values.clear()
        self.sources = None

    @property
    def num_references(self) -> int:
        """Rows of the bank (reference images written), 0 when empty."""
        return len(next(iter(self.tokens.values()))) if self.tokens else 0

    def keys_values(self, name: str, attn: Attention) -> tuple[torch.Tensor, torch.Tensor]:
        """`to_k`/`to_v` of the reference tokens of block `name`, (R, L_ref, C) each; computed once."""
        if name not in self._keys_values:
            tokens = self.tokens[name]
            self._keys_values[name] = (attn.to_k(tokens), attn.to_v(tokens))
        return self._keys_values[name]

    def sources_of_rows(self, num_rows: int, num_references: int, device: torch.device) -> torch.Tensor:
        """The bank row each attention row reads (-1: none), (num_rows,) long. A row is one frame of
        one sample; the rows of a sample are consecutive (the UNet folds (S, F) to S*F)."""
        sources = self.sources
        if sources is None:
            if num_rows % num_references:
                raise ValueError(f"{num_rows} attention rows cannot be split among {num_references} references")
            return torch.arange(num_rows, device=device) // (num_rows // num_references)
        if num_rows % len(sources):
            raise ValueError(f"{num_rows} attention rows are not a multiple of {len(sources)} samples")
        return sources.to(device).repeat_interleave(num_rows // len(sources))


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
    if attn.rescale_output_factor != 1.0:  # x / 1 is x: skipping it saves a pass over the tokens (1.4 % of a step)
        hidden_states = hidden_states / attn.rescale_output_factor
    return hidden_states


class ReferenceAttnProcessor(AttnProcessor2_0):
    """diffusers' SDPA processor that also takes the reference keys/values projected once per video.

    Without `reference_keys` it is plain self-attention (or, given encoder states or a mask, exactly
    `AttnProcessor2_0`). `ReferenceReader` supplies `reference_keys`, `reference_values` (R, L_ref, C)
    and `reference_sources` (rows,): the bank row each attention row reads, -1 for none.
    """

    def __call__(
        self,
        attn: Attention,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        temb: torch.Tensor | None = None,
        reference_keys: torch.Tensor | None = None,
        reference_values: torch.Tensor | None = None,
        reference_sources: torch.Tensor | None = None,
        **kwargs,
    ) -> torch.Tensor:
        if encoder_hidden_states is not None or attention_mask is not None or not _is_plain_self_attention(attn):
            if reference_keys is not None:
                raise ValueError("reference attention extends plain self-attention only")
            return super().__call__(attn, hidden_states, encoder_hidden_states, attention_mask, temb, **kwargs)
        # hidden_states: (S*F, L, C), the frames of a sample consecutive
        query, key, value = attn.to_q(hidden_states), attn.to_k(hidden_states), attn.to_v(hidden_states)
        if reference_keys is None:
            return output_projection(attn, multi_head_attention(attn, query, key, value), hidden_states)

        readers = reference_sources >= 0

        def with_reference(rows: torch.Tensor | slice) -> torch.Tensor:
            source = reference_sources[rows]
            return multi_head_attention(
                attn,
                query[rows],
                torch.cat([key[rows], reference_keys[source].to(key.dtype)], dim=1),
                torch.cat([value[rows], reference_values[source].to(value.dtype)], dim=1),
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


def _is_plain_self_attention(attn: Attention) -> bool:
    return attn.spatial_norm is None and attn.group_norm is None and not attn.is_cross_attention


def _hidden_states_and_rest(args: tuple, kwargs: dict) -> torch.Tensor:
    hidden_states = args[0] if args else kwargs["hidden_states"]
    if len(args) > 1 or kwargs.get("encoder_hidden_states") is not None or kwargs.get("attention_mask") is not None:
        raise ValueError("reference attention extends plain self-attention, but this attn1 was given its own "
                         "encoder states or attention mask")
    return hidden_states


class ReferenceWriter:
    """Forward pre-hook on a ReferenceNet `attn1`: store its input (R, L_ref, C) in the bank."""

    def __init__(self, bank: ReferenceBank, name: str) -> None:
        self.bank = bank
        self.name = name

    def __call__(self, attn: Attention, args: tuple, kwargs: dict) -> None:
        self.bank.write(self.name, _hidden_states_and_rest(args, kwargs))


class ReferenceReader:
    """Forward pre-hook on a denoising-UNet `attn1`: make the installed processor read the bank."""

    def __init__(self, bank: ReferenceBank, name: str) -> None:
        self.bank = bank
        self.name = name

    def __call__(self, attn: Attention, args: tuple, kwargs: dict) -> tuple[tuple, dict] | None:
        tokens = self.bank.tokens.get(self.name)
        if tokens is None:  # no reference written for this block: plain self-attention
            return None
        hidden_states = _hidden_states_and_rest(args, kwargs)
        sources = self.bank.sources_of_rows(hidden_states.shape[0], tokens.shape[0], hidden_states.device)
        processor = attn.processor
        kwargs = dict(kwargs)
        if isinstance(processor, ReferenceAttnProcessor):
            kwargs["reference_keys"], kwargs["reference_values"] = self.bank.keys_values(self.name, attn)
            kwargs["reference_sources"] = sources
        elif type(processor) in CONCATENATING_PROCESSORS:
            reference = tokens[sources.clamp(min=0)].to(hidden_states.dtype)
            kwargs["encoder_hidden_states"] = torch.cat([hidden_states, reference], dim=1)
            if bool((sources < 0).any()):
                mask = torch.zeros(hidden_states.shape[0], 1, hidden_states.shape[1] + reference.shape[1],
                                   device=hidden_states.device, dtype=hidden_states.dtype)
                mask[sources < 0, :, hidden_states.shape[1]:] = float("-inf")
                kwargs["attention_mask"] = mask
        else:
            raise ValueError(unsupported_processor_message(self.name, processor))
        return args, kwargs


def unsupported_processor_message(path: str, processor: object) -> str:
    supported = ", ".join(cls.__name__ for cls in (ReferenceAttnProcessor, *CONCATENATING_PROCESSORS))
    return (f"{path}.attn1 uses {type(processor).__name__}, which cannot attend over the reference tokens, so "
            f"ReferenceNet would be ignored; use one of {supported} (pipe.disable_attention_slicing() restores the "
            f"default).")


def spatial_self_attention_paths(model: nn.Module) -> list[str]:
    """Paths of the spatial transformer blocks (not motion modules) whose `attn1` is self-attention."""
    return [
        name[: -len(SELF_ATTENTION_SUFFIX)]
        for name in model.attn_processors
        if name.endswith(SELF_ATTENTION_SUFFIX) and ".attentions." in name
    ]


def _spatial_self_attentions(model: nn.Module) -> dict[str, Attention]:
    modules = {path: model.get_submodule(f"{path}.attn1") for path in spatial_self_attention_paths(model)}
    for path, attn in modules.items():
        if not _is_plain_self_attention(attn):
            raise ValueError(f"{path}.attn1 is not a plain self-attention; reference attention cannot use it")
    return modules


def _set_hook(attn: Attention, hook: ReferenceWriter | ReferenceReader) -> None:
    """Replace the module's reference hook (at most one, whatever was installed before)."""
    previous = getattr(attn, _HOOK_ATTRIBUTE, None)
    if previous is not None:
        previous[0].remove()
    setattr(attn, _HOOK_ATTRIBUTE, (attn.register_forward_pre_hook(hook, with_kwargs=True), hook))


def install_reference_writer(reference_net: nn.Module, bank: ReferenceBank) -> list[str]:
    """Make ReferenceNet write its spatial self-attention inputs into `bank`; returns the block paths.
    ReferenceNet keeps whatever attention processors it has."""
    modules = _spatial_self_attentions(reference_net)
    for path, attn in modules.items():
        _set_hook(attn, ReferenceWriter(bank, path))
    return list(modules)


def install_reference_reader(unet: nn.Module, bank: ReferenceBank) -> list[str]:
    """Make the denoising UNet read `bank` in its spatial self-attentions, with the fast
    `ReferenceAttnProcessor` installed there; returns the block paths."""
    modules = _spatial_self_attentions(unet)
    for path, attn in modules.items():
        _set_hook(attn, ReferenceReader(bank, path))
    use_reference_attn_processor(unet)
    return list(modules)


def use_reference_attn_processor(unet: nn.Module) -> None:
    """Put the fast `ReferenceAttnProcessor` back on the UNet's spatial self-attentions (other
    attention layers keep theirs)."""
    for attn in _spatial_self_attentions(unet).values():
        attn.set_processor(ReferenceAttnProcessor())


def check_reference_attention(unet: nn.Module, bank: ReferenceBank) -> None:
    """Raise `ValueError` if a spatial self-attention of the UNet does not read `bank` (its reader was
    removed, or replaced by another pipeline's or trainer's) or has a processor that cannot attend
    over the reference tokens."""
    for path, attn in _spatial_self_attentions(unet).items():
        handle, hook = getattr(attn, _HOOK_ATTRIBUTE, (None, None))
        if not isinstance(hook, ReferenceReader) or hook.bank is not bank or handle.id not in attn._forward_pre_hooks:
            raise ValueError(f"{path}.attn1 does not read this pipeline's reference bank (another pipeline or "
                             "trainer built on the same UNet took it over), so the reference would be ignored")
        if not (isinstance(attn.processor, ReferenceAttnProcessor) or type(attn.processor) in CONCATENATING_PROCESSORS):
            raise ValueError(unsupported_processor_message(path, attn.processor))
