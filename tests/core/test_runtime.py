"""Device and dtype choice: `--dtype auto` picks the fastest precision the machine computes natively."""

from __future__ import annotations

import pytest
import torch

from animate_anyone import runtime
from animate_anyone.errors import InputError


def test_auto_is_bf16_exactly_on_cpus_with_native_bf16():
    with open("/proc/cpuinfo") as cpuinfo:  # read independently of the code under test
        flags = next(line for line in cpuinfo if line.startswith("flags")).split()
    native = "avx512_bf16" in flags or "amx_bf16" in flags
    assert runtime.resolve_dtype("auto", torch.device("cpu")) == (torch.bfloat16 if native else torch.float32)


@pytest.mark.parametrize("flags, device, expected", [
    ({"avx512f", "avx512_bf16"}, "cpu", torch.bfloat16),
    ({"amx_bf16", "amx_tile"}, "cpu", torch.bfloat16),
    ({"avx512f", "avx2"}, "cpu", torch.float32),
    (set(), "cpu", torch.float32),
    (set(), "cuda", torch.float16),
    ({"avx512_bf16"}, "cuda", torch.float16),
    ({"avx512_bf16"}, "mps", torch.float32),
])
def test_auto_dtype_by_device_and_cpu_flags(monkeypatch, flags, device, expected):
    monkeypatch.setattr(runtime, "cpu_flags", lambda: flags)
    assert runtime.resolve_dtype("auto", torch.device(device)) == expected


def test_unknown_dtype_names_the_choices():
    with pytest.raises(InputError, match="unknown dtype 'fp8': expected one of auto, fp32, fp16, bf16"):
        runtime.resolve_dtype("fp8", torch.device("cpu"))
