"""Quality vs denoising steps for each scheduler (and bf16) on the shipped model's held-out benchmark.

The same held-out test characters, motions and metrics as `bench_tiny_model.py` (whose functions this
reuses): SSIM, PSNR, L1 and temporal error against the rendered ground truth, plus the distance to a
50-step DDIM video from the same initial noise ("vs DDIM-50": mean |difference| and PSNR), which shows
how far a cheaper sampler moves the output itself. Each row's change is stated against 25-step DDIM in
fp32 (today's default): a row is "within 2 %" when each of SSIM, PSNR, L1 and temporal error is within
2 % (relative) of that row's value.

    python benchmarks/bench_steps.py [--characters 8 --frames 16 --guidance 2
        --rows ddim:25 ddim:10 dpm++2m:10 ddim:25:dc2 ... --bf16-rows dpm++2m:10 --output outputs/bench_steps]

A row `SCHEDULER:STEPS:dcN` runs with feature reuse across steps (`deep_cache_interval=N`, DeepCache).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from bench_tiny_model import frame_scores, mean_scores
from PIL import Image
from torch.utils.flop_counter import FlopCounterMode

from animate_anyone.data.synthetic import generate_clip, split_seeds
from animate_anyone.pipelines.loading import SHIPPED_MODEL, load_pipeline
from animate_anyone.pipelines.schedulers import SCHEDULERS, scheduler_named

BASELINE = ("ddim", 25, "fp32", 1)
REFERENCE = ("ddim", 50, "fp32", 1)
DEFAULT_ROWS = ["ddim:25", "ddim:15", "ddim:10", "ddim:8", "ddim:6", "ddim:4",
                "dpm++2m:15", "dpm++2m:10", "dpm++2m:8", "dpm++2m:6", "dpm++2m:4",
                "unipc:15", "unipc:10", "unipc:8", "unipc:6", "unipc:4",
                "euler:15", "euler:10", "euler:8", "euler:6"]
METRICS = ("frame SSIM", "frame PSNR", "frame L1", "temporal error")


def parse_row(text: str, dtype: str) -> tuple[str, int, str, int]:
    """SCHEDULER:STEPS, or SCHEDULER:STEPS:dcN for feature reuse with `deep_cache_interval=N`."""
    name, steps, *reuse = text.split(":")
    if name not in SCHEDULERS:
        raise SystemExit(f"unknown scheduler {name!r}: expected one of {', '.join(SCHEDULERS)}")
    if reuse and not (len(reuse) == 1 and reuse[0].startswith("dc") and reuse[0][2:].isdigit()):
        raise SystemExit(f"row {text!r}: expected SCHEDULER:STEPS or SCHEDULER:STEPS:dcN")
    return name, int(steps), dtype, int(reuse[0][2:]) if reuse else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=SHIPPED_MODEL, help="pipeline folder (default: the shipped tiny128)")
    parser.add_argument("--characters", type=int, default=8, help="test characters (default 8)")
    parser.add_argument("--frames", type=int, default=16, help="generated frames per character (default 16)")
    parser.add_argument("--guidance", type=float, default=2.0, help="guidance scale (default 2.0, the demo's)")
    parser.add_argument("--rows", nargs="+", default=DEFAULT_ROWS, help="SCHEDULER:STEPS rows in fp32")
    parser.add_argument("--bf16-rows", nargs="*", default=["ddim:25", "dpm++2m:10", "unipc:10", "dpm++2m:8"],
                        help="SCHEDULER:STEPS rows in bf16")
    parser.add_argument("--output", default="outputs/bench_steps", help="folder for results.json and results.md")
    parser.add_argument("--flops", action="store_true",
                        help="also count each row's FLOPs per video (one more, untimed call on the first character)")
    args = parser.parse_args()
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    rows = [REFERENCE, BASELINE] + [parse_row(row, "fp32") for row in args.rows] + [
        parse_row(row, "bf16") for row in args.bf16_rows]
    rows = list(dict.fromkeys(rows))  # the baseline once, in order

    clips = [generate_clip(seed, num_frames=args.frames + 1) for seed in split_seeds("test", args.characters, first=100)]
    references = [Image.fromarray(clip.frames[0]) for clip in clips]
    poses = [[Image.fromarray(pose) for pose in clip.pose_maps()[1:]] for clip in clips]
    truths = [clip.frames[1:].astype(np.float32) / 255 for clip in clips]
    characters = [clip.character_masks()[1:] for clip in clips]
    pipelines = {dtype: load_pipeline(args.model, torch.device("cpu"), getattr(torch, name))
                 for dtype, name in (("fp32", "float32"), ("bf16", "bfloat16"))}
    width, height = references[0].size  # the clips' own size (the shipped model's 128x128)

    results: dict[tuple, dict[str, float]] = {}
    results_flops: dict[tuple, int] = {}
    videos: dict[tuple, list[np.ndarray]] = {}
    for row in rows:
        name, steps, dtype, interval = row
        pipeline = pipelines[dtype]
        pipeline.register_modules(scheduler=scheduler_named(name, pipeline.scheduler))
        pipeline.set_progress_bar_config(disable=True)
        scores, generated_videos, start = [], [], time.perf_counter()
        for index, (reference, driving, truth, character) in enumerate(zip(references, poses, truths, characters)):
            generated = pipeline(reference, driving, height=height, width=width, num_inference_steps=steps,
                                 guidance_scale=args.guidance, generator=torch.Generator().manual_seed(index),
                                 deep_cache_interval=interval, output_type="np").frames[0]
            generated_videos.append(generated)
            scores.append(frame_scores(generated, truth, character))
        seconds = (time.perf_counter() - start) / len(clips)
        if args.flops:  # FLOPs do not depend on the machine's load, unlike the seconds
            with FlopCounterMode(display=False) as counter:
                pipeline(references[0], poses[0], height=height, width=width, num_inference_steps=steps,
                         guidance_scale=args.guidance, generator=torch.Generator().manual_seed(0),
                         deep_cache_interval=interval, output_type="np")
            results_flops[row] = counter.get_total_flops()
        videos[row] = generated_videos
        distance = [np.abs(got - ref).mean() for got, ref in zip(generated_videos, videos[REFERENCE])]
        psnr = [10 * np.log10(1 / max(np.mean((got - ref) ** 2), 1e-12))
                for got, ref in zip(generated_videos, videos[REFERENCE])]
        results[row] = mean_scores(scores) | {"vs DDIM-50 |diff|": float(np.mean(distance)),
                                              "vs DDIM-50 PSNR": float(np.mean(psnr)), "s/video": seconds}
        if row in results_flops:
            results[row]["GFLOP/video"] = results_flops[row] / 1e9
        print(row, results[row], flush=True)

    base = results[BASELINE]
    lines = ["| scheduler | steps | dtype | feature reuse | SSIM ↑ | PSNR ↑ | L1 ↓ | temporal ↓ | "
             "largest change vs DDIM-25 | vs DDIM-50: abs diff / PSNR | s / video | GFLOP / video |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row, r in results.items():
        change = max(abs(r[key] - base[key]) / abs(base[key]) for key in METRICS)
        reuse = f"every {row[3]}" if row[3] > 1 else "off"
        lines.append(f"| {row[0]} | {row[1]} | {row[2]} | {reuse} | {r['frame SSIM']:.4f} | {r['frame PSNR']:.2f} | "
                     f"{r['frame L1']:.4f} | "
                     f"{r['temporal error']:.4f} | {change:.1%} | {r['vs DDIM-50 |diff|']:.4f} / "
                     f"{r['vs DDIM-50 PSNR']:.1f} dB | {r['s/video']:.2f} | {r.get('GFLOP/video', float('nan')):.1f} |")
    table = "\n".join(lines)
    print(f"\n{args.model}: {args.characters} test characters x {args.frames} frames, {width}x{height}, "
          f"guidance {args.guidance}\n\n{table}")
    (output / "results.json").write_text(json.dumps(
        {"settings": vars(args), "rows": [{"scheduler": k[0], "steps": k[1], "dtype": k[2], "deep_cache_interval": k[3],
                                          **v}
                                         for k, v in results.items()]}, indent=2))
    (output / "results.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
