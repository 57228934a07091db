"""Where the time of one full-size guided denoising step goes, and how close it is to this CPU's peak.

Builds the SD-1.5-size denoising UNet with motion modules and the released Pose Guider layout
(random weights, `bench_denoising_step.build_pipeline`), fills the reference bank, and runs one
guided step (the CFG pair batched) under `torch.profiler` (operator table by self CPU time) and
`torch.utils.flop_counter.FlopCounterMode` (FLOPs of matmuls, convolutions and attention).
The practical peak is a large square matmul in the same dtype and thread count; the step's achieved
FLOP/s is its FLOPs over its measured time.

    python benchmarks/profile_denoising_step.py [--frames 8] [--height 256 --width 192] [--dtype fp32]
"""

from __future__ import annotations

import argparse
import time

import torch
from diffusers.utils import logging as diffusers_logging
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

from bench_denoising_step import build_pipeline, fill_reference_bank
from animate_anyone.pipelines.context import context_windows

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def matmul_peak(dtype: torch.dtype, size: int = 4096, repeats: int = 5) -> float:
    """Best FLOP/s of an n x n x n matmul (2 n^3 FLOPs) over a few repeats."""
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def step_inputs(pipeline, frames: int, height: int, width: int):
    latents = torch.randn(1, 4, frames, height // 8, width // 8)
    pose_pixels = torch.rand(frames, 3, height, width)
    clip = torch.randn(1, 1, 768)
    windows = context_windows(frames, 24, 4)
    pipeline.scheduler.set_timesteps(25)
    return latents, pose_pixels, clip, windows, pipeline.scheduler.timesteps[0]


def one_step(pipeline, latents, pose_pixels, clip, windows, timestep) -> None:
    pose = pipeline.pose_features_per_window(pose_pixels[None], windows, 1, torch.device("cpu"))
    pipeline.denoise_step(latents, timestep, clip, pose, windows, guidance_scale=3.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--height", type=int, default=256)
    parser.add_argument("--width", type=int, default=192)
    parser.add_argument("--dtype", choices=list(DTYPES), default="fp32")
    parser.add_argument("--rows", type=int, default=30, help="operator rows to print")
    args = parser.parse_args()
    diffusers_logging.set_verbosity_error()
    dtype = DTYPES[args.dtype]
    print(f"{torch.get_num_threads()} threads, CPU capability {torch.backends.cpu.get_cpu_capability()}, {args.dtype}")
    peak = matmul_peak(dtype)
    print(f"practical peak (4096^3 matmul): {peak / 1e9:.1f} GFLOP/s")

    pipeline = build_pipeline(torch.device("cpu"), dtype)
    fill_reference_bank(pipeline, (args.height // 8, args.width // 8), torch.device("cpu"))
    inputs = step_inputs(pipeline, args.frames, args.height, args.width)
    with torch.no_grad():
        one_step(pipeline, *inputs)  # warm-up
        start = time.perf_counter()
        one_step(pipeline, *inputs)
        seconds = time.perf_counter() - start
        with FlopCounterMode(display=False) as counter:
            one_step(pipeline, *inputs)
        flops = counter.get_total_flops()
        with profile(activities=[ProfilerActivity.CPU], record_shapes=False) as prof:
            one_step(pipeline, *inputs)
    print(f"\none guided step, {args.frames} frames at {args.width}x{args.height}: {seconds:.2f} s, "
          f"{flops / 1e12:.2f} TFLOP -> {flops / seconds / 1e9:.1f} GFLOP/s = {flops / seconds / peak:.0%} of the peak")
    by_module = counter.get_flop_counts()
    top = sorted(((sum(v.values()), k) for k, v in by_module.items() if k.count(".") <= 1), reverse=True)[:8]
    print("FLOPs by module: " + ", ".join(f"{name} {count / 1e12:.2f}T" for count, name in top))
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows, max_name_column_width=40))


if __name__ == "__main__":
    main()
