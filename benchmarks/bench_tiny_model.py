"""Held-out quality of the shipped tiny128 model against the paper's ablations (issue 5, DESIGN §6).

Every row animates the same test-split characters (seeds 1,000,100 on, never seen in training:
docs/synthetic.md; the test split's first 100 seeds are the ones looked at while building the demo and
choosing its guidance scale) with their own held-out motions. The reference image is frame 0 of the
character's clip, the driving poses are the pose maps of frames 1..F, and the generated frames are
compared with the rendered frames 1..F (the ground truth):

* SSIM, PSNR, L1: per frame, averaged over frames and characters, over the whole 128x128 frame, over
  the character (the renderer's `character_masks()` of the ground truth) and over the background
  (the rest), in [0, 1]. Appearance shows in the character and background columns: a model that
  ignores its reference paints a generic background and generic clothes.
* temporal error: mean |(g[t+1] - g[t]) - (y[t+1] - y[t])| over pixels and frame pairs, generated g
  against ground truth y, so it counts flicker and missing or extra motion (lower is better).

Rows: the model (a) (default: the shipped one), the no-ReferenceNet ablation (b), stage 1 only (c;
the stage-1 pipeline, whose motion modules are still the identity), and the VAE round trip of the
ground truth (the bound any model that works in this VAE's latent space is held to). (b) and (c) come
from the run folder of `scripts/train_tiny128.sh` (`--runs`); a row whose checkpoint is not there is
left out, with a note. Every row decodes with the shipped model's VAE (its decoder fine-tune shares
the latent space), so rows differ only in what the ablation removes.

    python benchmarks/bench_tiny_model.py [--model tiny128] [--runs ../runs/tiny128] [--characters 24]
        [--frames 16 --steps 20 --guidance 2 --output outputs/bench_tiny_model]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from animate_anyone.data.contact_sheet import contact_sheet
from animate_anyone.data.synthetic import generate_clip, split_seeds
from animate_anyone.eval import metrics
from animate_anyone.pipelines.loading import SHIPPED_MODEL, load_pipeline

ABLATIONS = {  # row -> (run of scripts/train_tiny128.sh, config whose max_steps is its last checkpoint)
    "(b) no ReferenceNet": ("tiny128-noref-stage2", "tiny128-stage2.yaml"),
    "(c) stage 1 only (no motion modules)": ("tiny128-stage1-extended2", "tiny128-stage1-extended2.yaml"),
}
VAE_BOUND = "VAE round trip of the ground truth (bound)"
REGIONS = ("frame", "character", "background")
COLUMNS = [(region, metric) for region in REGIONS for metric in ("SSIM", "PSNR", "L1")] + [("", "temporal error")]
REPO = Path(__file__).resolve().parents[1]


def run_checkpoint(runs: Path, run: str, config: str) -> Path:
    """The `pipeline/` of the last checkpoint of `runs/run` (the one `configs/config` trains to)."""
    from animate_anyone.training.config import load_config

    steps = load_config(REPO / "configs" / config).training.max_steps
    return runs / run / "checkpoints" / f"checkpoint-{steps:07d}" / "pipeline"


def frame_scores(generated: np.ndarray, truth: np.ndarray, character: np.ndarray) -> dict[str, float]:
    """Mean SSIM, PSNR, L1 over the frame, the character and the background, and the temporal error,
    of (F, H, W, 3) float frames in [0, 1] with the (F, H, W) bool character mask of the truth."""
    g = torch.from_numpy(generated).permute(0, 3, 1, 2)
    y = torch.from_numpy(truth).permute(0, 3, 1, 2)
    mask = torch.from_numpy(character)
    scores = {}
    for region, region_mask in zip(REGIONS, (None, mask, ~mask)):
        scores[f"{region} SSIM"] = metrics.ssim(g, y, mask=region_mask).nanmean().item()
        scores[f"{region} PSNR"] = metrics.psnr(g, y, mask=region_mask).nanmean().item()
        scores[f"{region} L1"] = metrics.l1(g, y, region_mask).nanmean().item()
    scores["temporal error"] = ((g[1:] - g[:-1]) - (y[1:] - y[:-1])).abs().mean().item() if len(g) > 1 else float("nan")
    return scores


def format_score(key: str, value: float) -> str:
    return f"{value:.2f}" if key.endswith("PSNR") else f"{value:.3f}" if key.endswith("SSIM") else f"{value:.4f}"


def mean_scores(scores: list[dict[str, float]]) -> dict[str, float]:
    return {key: float(np.mean([score[key] for score in scores])) for key in scores[0]}


@torch.no_grad()
def vae_round_trip(vae, frames: np.ndarray) -> np.ndarray:
    images = torch.from_numpy(frames).permute(0, 3, 1, 2).float() * 2 - 1
    decoded = vae.decode(vae.encode(images).latent_dist.mode()).sample
    return ((decoded.clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=SHIPPED_MODEL, help="row (a): the shipped model (default) or a pipeline folder")
    parser.add_argument("--runs", default=str(REPO.parent / "runs" / "tiny128"),
                        help="the run folder of scripts/train_tiny128.sh, for rows (b) and (c)")
    parser.add_argument("--characters", type=int, default=24, help="test characters (default 24)")
    parser.add_argument("--frames", type=int, default=16, help="generated frames per character (default 16)")
    parser.add_argument("--steps", type=int, default=20, help="DDIM steps (default 20)")
    parser.add_argument("--guidance", type=float, default=2.0, help="guidance scale (default 2.0, the demo's)")
    parser.add_argument("--output", default="outputs/bench_tiny_model", help="folder for results.json and sheets")
    args = parser.parse_args()
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    clips = [generate_clip(seed, num_frames=args.frames + 1) for seed in split_seeds("test", args.characters, first=100)]
    references = [Image.fromarray(clip.frames[0]) for clip in clips]
    poses = [[Image.fromarray(pose) for pose in clip.pose_maps()[1:]] for clip in clips]  # rendered once, for every row
    truths = [clip.frames[1:].astype(np.float32) / 255 for clip in clips]
    characters = [clip.character_masks()[1:] for clip in clips]
    models = {"(a) full model" + (" (shipped, fp16 weights)" if args.model == SHIPPED_MODEL else f" ({args.model})"):
              args.model}
    for name, (run, config) in ABLATIONS.items():
        path = run_checkpoint(Path(args.runs), run, config)
        if path.is_dir():
            models[name] = path
        else:
            print(f"{name}: no checkpoint at {path}; row left out", flush=True)
    rows: dict[str, dict[str, float]] = {}
    shipped_vae = load_pipeline(SHIPPED_MODEL, torch.device("cpu"), torch.float32).vae
    for name, model in models.items():
        pipeline = load_pipeline(model, torch.device("cpu"), torch.float32)
        pipeline.register_modules(vae=shipped_vae)
        pipeline.set_progress_bar_config(disable=True)
        scores, start = [], time.perf_counter()
        for index, (reference, driving, truth, character) in enumerate(zip(references, poses, truths, characters)):
            generated = pipeline(reference, driving, height=128, width=128, num_inference_steps=args.steps,
                                 guidance_scale=args.guidance, generator=torch.Generator().manual_seed(index),
                                 output_type="np").frames[0]
            scores.append(frame_scores(generated, truth, character))
            if index < 3:  # a few sheets to look at
                frames = [Image.fromarray((frame * 255).round().astype(np.uint8)) for frame in generated]
                slug = name.split(")")[0].strip("(")
                contact_sheet(reference, driving, frames).save(output / f"{slug}-character{index}.png")
        seconds = (time.perf_counter() - start) / len(clips)
        rows[name] = mean_scores(scores) | {"s/video": seconds}
        print(name, rows[name], flush=True)
    rows[VAE_BOUND] = mean_scores([frame_scores(vae_round_trip(shipped_vae, truth), truth, character)
                                   for truth, character in zip(truths, characters)])

    keys = [f"{region} {metric}".strip() for region, metric in COLUMNS]
    header = "| model | " + " | ".join(f"{key} {'↓' if key.endswith(('L1', 'error')) else '↑'}" for key in keys) + " |"
    lines = [header, "|---" * (len(keys) + 1) + "|"] + [
        f"| {name} | " + " | ".join(format_score(key, r[key]) for key in keys) + " |" for name, r in rows.items()]
    table = "\n".join(lines)
    print(f"\n{args.characters} test characters x {args.frames} frames, 128x128, {args.steps} DDIM steps, "
          f"guidance {args.guidance}\n\n{table}")
    (output / "results.json").write_text(json.dumps({"settings": vars(args), "rows": rows}, indent=2))
    (output / "results.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
