"""Speed levers on one full-size guided denoising step: ratios and output change, measured in one run.

The step of `bench_denoising_step.py` (SD-1.5 UNet + 21 motion modules, the released Pose Guider
layout, random weights, reference bank filled, guidance 3.5 with the pair batched) at 256x192, run for
each variant in turn, round after round (A, B, C, A, B, C, ...), so that a shared machine's load hits
every variant alike; the ratio is of medians (the first round includes oneDNN's one-off primitive
creation, milliseconds against a step of minutes). Variants:

* `fp32`: today's step;
* `channels_last`: the denoising UNet and Pose Guider in channels-last memory format (oneDNN's
  preferred layout for convolutions; the attention blocks' NCHW -> tokens reshape becomes a view);
* `bf16`: the same step with the UNet and Pose Guider in bf16 (`--dtype bf16` / `auto` on this CPU);
* `deep_cache`: a feature-reuse step (`deep_cache_interval` > 1, `models.deep_cache`): the deep blocks'
  output recorded by an untimed full step just before, then the timed step runs only the outermost
  blocks. With an interval of N, a step costs on average (1 + (N - 1) x this ratio) / N of today's. Its
  output change here is nil by construction (same input and timestep as the recording step); its
  quality change is measured on the held-out benchmark (`bench_steps.py` rows `ddim:25:dc2`).

Output change: max |difference| and relative L2 of the step's output (the next latents), against `fp32`.

    python benchmarks/bench_levers.py [--frames 8] [--rounds 2] [--variants fp32 channels_last bf16 deep_cache]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch
from bench_denoising_step import build_pipeline, fill_reference_bank
from diffusers.utils import logging as diffusers_logging

from animate_anyone.models.deep_cache import DeepFeatureCache
from animate_anyone.pipelines.context import context_windows


def make_variant(base, variant: str):
    """A copy of `base` (its own UNet, Pose Guider, scheduler state and reference bank) set up as `variant`."""
    if variant in ("fp32", "deep_cache"):  # deep_cache: the fp32 pipeline, with a feature cache per step
        return base
    pipeline = copy.deepcopy(base)  # one copy: the UNet's processors keep pointing at the copy's own bank
    if variant == "channels_last":
        pipeline.unet.to(memory_format=torch.channels_last)
        pipeline.pose_guider.to(memory_format=torch.channels_last)
    elif variant == "bf16":
        pipeline.unet.to(torch.bfloat16)
        pipeline.pose_guider.to(torch.bfloat16)
        for name, tokens in list(pipeline.reference_bank.tokens.items()):
            pipeline.reference_bank.write(name, tokens.to(torch.bfloat16))
    else:
        raise ValueError(variant)
    return pipeline


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
    base.scheduler.set_timesteps(25)
    timestep = base.scheduler.timesteps[0]
    # smallest copies first, so that peak memory stays near two fp32 UNets
    order = sorted(args.variants, key=lambda variant: variant != "bf16")
    pipelines = {variant: make_variant(base, variant) for variant in order}
    pipelines = {variant: pipelines[variant] for variant in args.variants}
    generator = torch.Generator().manual_seed(0)
    latents = torch.randn(1, 4, args.frames, args.height // 8, args.width // 8, generator=generator)
    pose_pixels = torch.rand(args.frames, 3, args.height, args.width, generator=generator)
    clip = torch.randn(1, 1, 768, generator=generator)
    windows = context_windows(args.frames, 24, 4)
    times: dict[str, list[float]] = {variant: [] for variant in args.variants}
    outputs: dict[str, torch.Tensor] = {}
    print(f"{torch.get_num_threads()} threads; one guided step, {args.frames} frames at {args.width}x{args.height}; "
          f"rounds of {', '.join(args.variants)}", flush=True)
    with torch.no_grad():
        for round_index in range(args.rounds):
            for variant, pipeline in pipelines.items():
                if variant == "deep_cache":  # an untimed full step records the deep features
                    pipeline._deep_cache = DeepFeatureCache(pipeline.unet)
                    pose = pipeline.pose_features_per_window(pose_pixels[None], windows, 1, cpu)
                    pipeline.denoise_step(latents, timestep, clip, pose, windows, guidance_scale=3.5)
                    pipeline._deep_cache.reuse = True
                start = time.perf_counter()
                pose = pipeline.pose_features_per_window(pose_pixels[None], windows, 1, cpu)
                outputs[variant] = pipeline.denoise_step(latents, timestep, clip, pose, windows, guidance_scale=3.5)
                seconds = time.perf_counter() - start
                pipeline._deep_cache = None
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
