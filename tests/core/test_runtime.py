"""Device, dtype and layout: `--dtype auto` picks the fastest precision the machine computes natively;
channels-last keeps the output."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from animate_anyone import runtime
from animate_anyone.errors import InputError
from animate_anyone.testing import tiny_pipeline


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


def test_channels_last_keeps_the_output():
    """An exact lever: the same video within 1e-5 (only the convolutions' summation order changes)."""
    pipe = tiny_pipeline(seed=0)
    reference = np.random.RandomState(0).rand(32, 32, 3).astype(np.float32)
    poses = np.random.RandomState(1).rand(3, 32, 32, 3).astype(np.float32)

    def generate():
        return pipe(reference, poses, height=32, width=32, num_inference_steps=3, guidance_scale=2.0,
                    generator=torch.Generator().manual_seed(0), output_type="np").frames

    before = generate()
    runtime.use_channels_last(pipe)
    assert pipe.unet.conv_in.weight.is_contiguous(memory_format=torch.channels_last)
    np.testing.assert_allclose(generate(), before, atol=1e-5, rtol=0)
