"""Where and how to run: user-facing device and dtype names, checked; the memory layout for the device."""

from __future__ import annotations

import torch

from animate_anyone.errors import InputError

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
AUTO = "auto"
NATIVE_BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of CPUs with bf16 instructions


def cpu_flags() -> set[str]:
    """The CPU feature flags the kernel reports (empty where /proc/cpuinfo does not exist)."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_summary() -> str:
    """One line naming this CPU and what decides its kernels: vendor and model, AMX, AVX512-BF16, the
    ISA level torch dispatches to, and torch's thread count (results and timings name the CPU they ran on)."""
    facts = {}
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                facts.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    flags = cpu_flags()
    features = ", ".join(f"{name} {'yes' if flag in flags else 'no'}"
                         for name, flag in (("AMX", "amx_tile"), ("AVX512-BF16", "avx512_bf16")))
    name = " ".join(filter(None, (facts.get("vendor_id"), facts.get("model name")))) or "unknown CPU"
    return (f"{name}; {features}; torch {torch.__version__} dispatches {torch.backends.cpu.get_cpu_capability()}, "
            f"{torch.get_num_threads()} threads")


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes in bf16 natively (AVX512-BF16 or AMX), where bf16 roughly halves a step."""
    return any(flag in cpu_flags() for flag in NATIVE_BF16_CPU_FLAGS)


def auto_dtype(device: torch.device) -> torch.dtype:
    """fp16 on CUDA; bf16 on CPUs with native bf16; fp32 elsewhere."""
    if device.type == "cuda":
        return torch.float16
    if device.type == "cpu" and cpu_has_native_bf16():
        return torch.bfloat16
    return torch.float32


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
    """fp32 anywhere; fp16 on GPUs; bf16 on GPUs and on CPUs (fast where the CPU has AMX/AVX-512 BF16);
    `auto`: the fastest of these the device computes natively (`auto_dtype`)."""
    if name == AUTO:
        return auto_dtype(device)
    if name not in DTYPES:
        raise InputError(f"unknown dtype {name!r}: expected one of {AUTO}, {', '.join(DTYPES)}")
    if name == "fp16" and device.type == "cpu":
        raise InputError("fp16 is for GPUs; on the CPU use bf16 or fp32")
    return DTYPES[name]


def use_channels_last(pipeline) -> None:
    """Channels-last memory format for the convolutional models a denoising step runs (the denoising UNet,
    ReferenceNet, Pose Guider): oneDNN's preferred layout on CPUs, and the attention blocks' NCHW -> token
    reshapes become views. Same numbers up to summation order (docs/benchmarks.md). Inference only:
    safetensors saves contiguous tensors, so save a pipeline before, not after."""
    for name in ("unet", "reference_net", "pose_guider"):
        model = getattr(pipeline, name, None)
        if model is not None:
            model.to(memory_format=torch.channels_last)
            hook = getattr(model, "_hf_hook", None)
            if hasattr(hook, "memory_format"):  # weights read on demand take the layout when read
                hook.memory_format = torch.channels_last


def machine_device_and_dtype() -> tuple[torch.device, torch.dtype]:
    """accelerate's device for this process (its GPU, else Apple's MPS, else the CPU); fp16 on a GPU,
    else fp32."""
    from accelerate import PartialState

    device = PartialState().device
    return device, (torch.float16 if device.type == "cuda" else torch.float32)


def dtype_name(dtype: torch.dtype) -> str:
    """The user-facing name of `dtype` (the inverse of DTYPES)."""
    return next(name for name, value in DTYPES.items() if value == dtype)
