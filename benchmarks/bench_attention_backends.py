"""Attention backends and offload keep the model: output difference and time against the default.

Runs one pipeline call per configuration, in one process, on the tiny random pipeline (or a saved
pipeline folder), and reports the largest pixel difference (frames in [0, 1]) from the default
(`ReferenceAttnProcessor`, reference keys/values once per video) and the time ratio to it:

* attention slicing (`enable_attention_slicing(1)`), diffusers' SDPA and math processors
  (`set_attn_processor`, `set_default_attn_processor`): the reference hooks pass the reference tokens;
* xFormers (`enable_xformers_memory_efficient_attention()`), where it is installed and CUDA is there;
* `enable_model_cpu_offload()` and `enable_sequential_cpu_offload()` (on a CPU-only machine with
  device "cpu", which only checks equality: nothing is moved);
* without the reference (the bank left empty), to show the scale of a difference that matters.

    python benchmarks/bench_attention_backends.py [--model PATH] [--device cuda] [--size 64] [--frames 8]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from diffusers.models.attention_processor import AttnProcessor2_0
from diffusers.utils import is_xformers_available
from diffusers.utils import logging as diffusers_logging

from animate_anyone.pipelines.loading import TINY_RANDOM, load_pipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=TINY_RANDOM, help="pipeline folder, tiny128 or tiny-random (default)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--size", type=int, default=64, help="square frame size in pixels")
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()
    diffusers_logging.set_verbosity_error()
    device = torch.device(args.device)
    rng = np.random.RandomState(0)
    reference = rng.rand(args.size, args.size, 3).astype(np.float32)
    poses = rng.rand(args.frames, args.size, args.size, 3).astype(np.float32)

    def build():
        pipe = load_pipeline(args.model, device, torch.float32)
        pipe.set_progress_bar_config(disable=True)
        return pipe

    def generate(pipe) -> tuple[np.ndarray, float]:
        start = time.perf_counter()
        frames = pipe(reference, poses, height=args.size, width=args.size, num_inference_steps=args.steps,
                      generator=torch.Generator().manual_seed(0), output_type="np").frames
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return frames, time.perf_counter() - start

    pipe = build()
    generate(pipe)  # warm-up
    default, default_seconds = generate(pipe)
    configurations = {
        "enable_attention_slicing(1)": lambda p: p.enable_attention_slicing(1),
        "set_attn_processor(AttnProcessor2_0())": lambda p: p.unet.set_attn_processor(AttnProcessor2_0()),
        "unet.set_default_attn_processor()": lambda p: p.unet.set_default_attn_processor(),
        "enable_model_cpu_offload()": lambda p: p.enable_model_cpu_offload(device=device.type),
    }
    if device.type == "cuda":
        configurations["enable_sequential_cpu_offload()"] = lambda p: p.enable_sequential_cpu_offload(device="cuda")
        if is_xformers_available():
            configurations["enable_xformers_memory_efficient_attention()"] = (
                lambda p: p.enable_xformers_memory_efficient_attention())
    configurations["no reference (empty bank)"] = lambda p: setattr(p, "write_reference",
                                                                    lambda *a: p.reference_bank.clear())
    print(f"{args.model}, {device}, {args.size}x{args.size} px, {args.frames} frames, {args.steps} steps, "
          f"guidance 3.5; default: {default_seconds:.2f} s\n")
    print("| configuration | max abs diff from default | time / default |\n|---|---|---|")
    for name, configure in configurations.items():
        pipe = build()
        configure(pipe)
        generate(pipe)  # warm-up
        frames, seconds = generate(pipe)
        print(f"| {name} | {np.abs(frames - default).max():.2e} | {seconds / default_seconds:.2f} |", flush=True)
    if device.type != "cuda":
        print("\nxFormers and sequential offload: not run (they need CUDA).")


if __name__ == "__main__":
    main()
