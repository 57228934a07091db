"""Speed levers on one full-size guided denoising step: ratios and output change, measured in one run.

The step of `bench_denoising_step.py` (SD-1.5 UNet + 21 motion modules, the released Pose Guider
layout, random weights, reference bank filled, guidance 3.5 with the pair batched) at 256x192, run for
each variant in turn, round after round (A, B, C, A, B, C, ...), so that a shared machine's load hits
every variant alike; the ratio is of medians. Variants:

* `fp32`: today's step;
* `channels_last`: the denoising UNet and Pose Guider in channels-last memory format (oneDNN's
  preferred layout for convolutions; the attention blocks' NCHW -> tokens reshape becomes a view);
* `bf16`: the same step with the UNet and Pose Guider in bf16 (`--dtype bf16` / `auto` on this CPU).

Output change: max |difference| and relative L2 of the step's output (the next latents), against `fp32`.

    python benchmarks/bench_levers.py [--frames 8] [--rounds 2] [--variants fp32 channels_last bf16]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch
from bench_denoising_step import build_pipeline, fill_reference_bank
from diffusers.utils import logging as diffusers_logging

from animate_anyone.pipelines.context import context_windows


def to_variant(pipeline, variant: str):
    if variant == "fp32":
        return pipeline
    if variant == "channels_last":
        pipeline.unet.to(memory_format=torch.channels_last)
        pipeline.pose_guider.to(memory_format=torch.channels_last)
        return pipeline
    if variant == "bf16":
        half = copy.copy(pipeline)  # shares the bank and scheduler; own bf16 UNet and Pose Guider
        half.unet = copy.deepcopy(pipeline.unet).to(torch.bfloat16)
        half.pose_guider = copy.deepcopy(pipeline.pose_guider).to(torch.bfloat16)
        return half
    raise ValueError(variant)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--height", type=int, default=256)
    parser.add_argument("--width", type=int, default=192)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--variants", nargs="+", default=["fp32", "channels_last", "bf16"])
    args = parser.parse_args()
    diffusers_logging.set_verbosity_error()
    cpu = torch.device("cpu")
    base = build_pipeline(cpu, torch.float32)
    fill_reference_bank(base, (args.height // 8, args.width // 8), cpu)
    # channels_last changes the shared modules in place: it gets a copy of its own
    pipelines = {variant: to_variant(copy.deepcopy(base) if variant == "channels_last" else base, variant)
                 for variant in args.variants}
    generator = torch.Generator().manual_seed(0)
    latents = torch.randn(1, 4, args.frames, args.height // 8, args.width // 8, generator=generator)
    pose_pixels = torch.rand(args.frames, 3, args.height, args.width, generator=generator)
    clip = torch.randn(1, 1, 768, generator=generator)
    windows = context_windows(args.frames, 24, 4)
    base.scheduler.set_timesteps(25)
    timestep = base.scheduler.timesteps[0]
    times: dict[str, list[float]] = {variant: [] for variant in args.variants}
    outputs: dict[str, torch.Tensor] = {}
    print(f"{torch.get_num_threads()} threads; one guided step, {args.frames} frames at {args.width}x{args.height}; "
          f"rounds of {', '.join(args.variants)}", flush=True)
    with torch.no_grad():
        for round_index in range(args.rounds + 1):  # round 0 warms every variant up
            for variant, pipeline in pipelines.items():
                start = time.perf_counter()
                pose = pipeline.pose_features_per_window(pose_pixels, windows, cpu)
                outputs[variant] = pipeline.denoise_step(latents, timestep, clip, pose, windows, guidance_scale=3.5)
                seconds = time.perf_counter() - start
                if round_index:
                    times[variant].append(seconds)
                print(f"round {round_index} {variant}: {seconds:.2f} s", flush=True)
    baseline = statistics.median(times[args.variants[0]])
    print(f"\n| variant | median step (s) | ratio to {args.variants[0]} | max abs change | relative L2 change |")
    print("|---|---|---|---|---|")
    reference = outputs[args.variants[0]]
    for variant in args.variants:
        median = statistics.median(times[variant])
        difference = outputs[variant].float() - reference
        print(f"| {variant} | {median:.2f} | {median / baseline:.3f} | {difference.abs().max().item():.2e} | "
              f"{(difference.norm() / reference.norm()).item():.2e} |")


if __name__ == "__main__":
    main()
