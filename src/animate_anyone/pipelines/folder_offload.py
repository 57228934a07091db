"""Weights on demand: each model's weights in memory only while the pipeline uses it (for CPU machines).

diffusers' `enable_model_cpu_offload` keeps one model on the accelerator and the others in CPU memory;
a machine without an accelerator has nowhere to put the others but the disk. Here that is the model
folder itself: a model starts with its weights on the meta device (no memory), reads them from its
safetensors files (`checkpoints.read_safetensors`: one copy, cast as read) when it is first called, and
lets them go when the next model in `model_cpu_offload_seq` starts, as diffusers' offload does. The
files stay in the operating system's page cache, so a reload is a memory copy, not a disk read, while
memory allows. Same weights, same numbers.

The hooks are accelerate's (`ModelHook`, `add_hook_to_module`), so `vae.encode`/`decode` trigger them
like a forward call (diffusers' `apply_forward_hook`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch
from accelerate.hooks import ModelHook, add_hook_to_module
from accelerate.utils import set_module_tensor_to_device

from animate_anyone.checkpoints import read_safetensors


class WeightsOnDemandHook(ModelHook):
    """Read a model's weights from `files` before it runs; let them go when `offload()` is called."""

    def __init__(self, files: list[Path], dtype: torch.dtype | None, execution_device: torch.device,
                 previous: WeightsOnDemandHook | None = None, memory_format: torch.memory_format | None = None):
        self.files, self.dtype, self.execution_device = files, dtype, execution_device
        self.previous, self.memory_format = previous, memory_format
        self.module: torch.nn.Module | None = None
        self.loaded = False  # whether the weights are in memory (kept, not looked up on every call)
        self.loads = 0  # how many times the weights were read (for tests and benchmarks)

    def init_hook(self, module: torch.nn.Module) -> torch.nn.Module:
        self.module = module
        self.offload()
        return module

    def pre_forward(self, module, *args, **kwargs):
        if self.previous is not None:
            self.previous.offload()
        self.load()
        return args, kwargs

    def load(self) -> None:
        if self.loaded:
            return
        state = read_safetensors(self.files, self.dtype)
        self.module.load_state_dict(state, strict=True, assign=True)
        del state
        self.module.to(self.execution_device)
        if self.memory_format is not None:
            self.module.to(memory_format=self.memory_format)
        self.loaded = True
        self.loads += 1

    def offload(self) -> None:
        """Parameters and saved buffers to the meta device (non-persistent buffers stay: no file holds them)."""
        for name in self.module.state_dict():
            set_module_tensor_to_device(self.module, name, "meta")
        self.loaded = False


def enable_weights_on_demand(pipeline, model_files: dict[str, list[Path]], dtype: torch.dtype | None,
                             device: torch.device) -> None:
    """Hook every model of `pipeline` named in `model_files` (its safetensors files) to hold its weights
    only while in use, in the order of `model_cpu_offload_seq`."""
    previous = None
    for name in pipeline.model_cpu_offload_seq.split("->"):
        model = getattr(pipeline, name, None)
        if model is None or name not in model_files:
            continue
        hook = WeightsOnDemandHook(model_files[name], dtype, device, previous)
        add_hook_to_module(model, hook)
        previous = hook


def components_one_at_a_time(pipeline) -> Iterator[tuple[str, object]]:
    """`pipeline.components` as (name, component) pairs, a model with weights on demand reading its weights
    just before it is handed out: a consumer that lets each model's weights go before taking the next
    (`convert.write_pipeline_folder`) holds one model at a time."""
    for name, component in pipeline.components.items():
        hook = getattr(component, "_hf_hook", None)
        if isinstance(hook, WeightsOnDemandHook):
            hook.load()
        yield name, component
