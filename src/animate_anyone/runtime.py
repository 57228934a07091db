"""Where and in what precision to run: user-facing device and dtype names, checked."""

from __future__ import annotations

import torch

from animate_anyone.errors import InputError

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def resolve_device(name: str) -> torch.device:
    """`cpu`, `cuda`, `cuda:N` or `mps`, checked against what this machine has."""
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InputError(f"unknown device {name!r}: expected cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(f"device {name!r} requested but CUDA is not available on this machine")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise InputError(f"device {name!r} requested but only {torch.cuda.device_count()} CUDA devices exist")
    elif device.type == "mps":
        if not torch.backends.mps.is_available():
            raise InputError("device 'mps' requested but MPS is not available on this machine")
    elif device.type != "cpu":
        raise InputError(f"unsupported device {name!r}: expected cpu, cuda, cuda:N or mps")
    return device


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """fp32 anywhere; fp16 on GPUs; bf16 on GPUs and on CPUs (fast where the CPU has AMX/AVX-512 BF16)."""
    if name not in DTYPES:
        raise InputError(f"unknown dtype {name!r}: expected one of {', '.join(DTYPES)}")
    if name == "fp16" and device.type == "cpu":
        raise InputError("fp16 is for GPUs; on the CPU use bf16 or fp32")
    return DTYPES[name]
