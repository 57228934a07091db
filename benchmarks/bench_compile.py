"""`torch.compile` of the denoising UNet (`animate --compile`) on the shipped model: the wait, then the gain.

    python benchmarks/bench_compile.py [--frames 16 --steps 20 --dtype fp32 --calls 2]

One process, the shipped tiny128 model at its 128x128, guidance 2.0, a random reference and poses: the
pipeline is called `--calls` times as loaded, then its UNet is compiled in place (`unet.compile()`, as
`--compile` does) and it is called `--calls` times again. The first compiled call includes the
compilation (inductor, C++ code generation on the CPU). Printed: seconds per call, the warm compiled
call's ratio to the warm uncompiled one, the compilation's wait (first compiled call minus a warm
one), and the largest pixel difference between the compiled and uncompiled videos.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from animate_anyone.pipelines.loading import load_pipeline
from animate_anyone.runtime import DTYPES, use_channels_last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--calls", type=int, default=2)
    args = parser.parse_args()

    pipeline = load_pipeline(None, torch.device("cpu"), DTYPES[args.dtype])
    use_channels_last(pipeline)
    pipeline.set_progress_bar_config(disable=True)
    rng = np.random.default_rng(0)
    reference = rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)
    poses = rng.integers(0, 256, (args.frames, 128, 128, 3), dtype=np.uint8)

    def call() -> tuple[float, np.ndarray]:
        start = time.perf_counter()
        video = pipeline(reference, poses, height=128, width=128, num_inference_steps=args.steps, guidance_scale=2.0,
                         generator=torch.Generator().manual_seed(0), output_type="np").frames
        return time.perf_counter() - start, video

    eager = [call() for _ in range(args.calls)]
    pipeline.unet.compile()
    compiled = [call() for _ in range(args.calls)]
    print(f"{args.frames} frames, {args.steps} steps, {args.dtype}, {torch.get_num_threads()} threads")
    print("eager calls (s):", ", ".join(f"{seconds:.2f}" for seconds, _ in eager))
    print("compiled calls (s):", ", ".join(f"{seconds:.2f}" for seconds, _ in compiled))
    warm_eager, warm_compiled = min(s for s, _ in eager[1:] or eager), min(s for s, _ in compiled[1:] or compiled)
    print(f"warm compiled / warm eager: {warm_compiled / warm_eager:.3f}")
    print(f"compilation wait (first compiled call - warm compiled call): {compiled[0][0] - warm_compiled:.1f} s")
    print(f"largest pixel difference, compiled vs eager: {np.abs(compiled[-1][1] - eager[-1][1]).max():.2e}")


if __name__ == "__main__":
    main()
