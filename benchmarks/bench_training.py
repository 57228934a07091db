"""Training samples per second: tiny stage 1 and 2, and the full-size architecture at a small size.

* tiny: the tiny configs (configs/tiny-stage*.yaml) on a generated stick-figure dataset; each timed
  step is a whole optimizer step (frozen encoders, forward, backward, clipping, AdamW); data
  decoding is timed apart (samples/s of the dataset itself).
* full: SD-1.5 UNets (ReferenceNet + denoising UNet with 21 motion modules), SD VAE, CLIP ViT-L/14
  and the paper's Pose Guider, with seeded random weights (the arithmetic is that of the real
  weights), one step at a small size (stage 1: 128 px, batch 1; stage 2: 24 frames of 64 px),
  gradient checkpointing on. Stage 1's AdamW state (13.6 GB for 1.7 B trained parameters) does not
  fit beside the rest in a small machine's memory, so `--full-optimizer none` (the default on CPUs)
  times forward + backward only; `adamw` times the whole step.
* tiny128: the shipped model's stage 1 (configs/tiny128-stage1.yaml, 128 px, a new VAE of the same
  shape) at each of `--batch-sizes`, fp32 against bf16 autocast: the numbers that size its recipe.
* `--loss-run`: the 200-step tiny stage-1 run, printing the mean loss of the first and last 20 steps.

    python benchmarks/bench_training.py [--parts tiny tiny128 full1 full2] [--steps 10] [--threads 1]
        [--batch-sizes 4 8 16] [--loss-run]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import default_collate

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "training"))
from synthetic_dataset import write_synthetic_dataset  # noqa: E402

from animate_anyone.training.config import load_config  # noqa: E402
from animate_anyone.training.train import Trainer  # noqa: E402


def tiny_trainer(stage: int, dataset: Path, output_dir: Path, *overrides: str) -> Trainer:
    config = load_config(REPO / "configs" / f"tiny-stage{stage}.yaml", [
        f"data.root={dataset}", f"output_dir={output_dir}", "validation.every_steps=0",
        *(["model.source=tiny"] if stage == 2 else []), *overrides])
    return Trainer(config)


def tiny128_trainer(dataset: Path, output_dir: Path, batch_size: int, precision: str) -> Trainer:
    config = load_config(REPO / "configs" / "tiny128-stage1.yaml", [
        f"data.root={dataset}", f"output_dir={output_dir}", "validation.every_steps=0", "model.vae_path=null",
        "model.vae_channels=[32,32,64,64]", "model.vae_layers_per_block=1", "data.reference_min_gap=1",
        "data.num_workers=0", f"training.batch_size={batch_size}", f"training.mixed_precision={precision}"])
    return Trainer(config)


def time_steps(trainer: Trainer, steps: int, warmup: int = 2, optimizer: bool = True) -> float:
    """Samples per second of whole training steps on pre-decoded batches."""
    batch_size = trainer.config.training.batch_size
    batches = [default_collate([trainer.dataset[k * batch_size + j] for j in range(batch_size)])
               for k in range(warmup + steps)]

    def step(k: int) -> None:
        if optimizer:
            with trainer.accelerator.accumulate(trainer.model):
                trainer.micro_step(batches[k], k)
        else:
            trainer.accelerator.backward(trainer.compute_loss(batches[k], k))
            trainer.optimizer.zero_grad(set_to_none=True)

    for k in range(warmup):
        step(k)
    start = time.perf_counter()
    for k in range(warmup, warmup + steps):
        step(k)
    return steps * batch_size / (time.perf_counter() - start)


def data_rate(trainer: Trainer, samples: int) -> float:
    start = time.perf_counter()
    for index in range(samples):
        trainer.dataset[index]
    return samples / (time.perf_counter() - start)


def full_size_components(seed: int = 0) -> dict:
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    from animate_anyone.models.builders import SD15_UNET2D_CONFIG, denoising_unet_from_2d
    from animate_anyone.models.pose_guider import PoseGuider
    from animate_anyone.pipelines.schedulers import scheduler_for_animate_anyone

    torch.manual_seed(seed)
    unet2d = UNet2DConditionModel(**SD15_UNET2D_CONFIG)
    vae = AutoencoderKL(block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
                        up_block_types=("UpDecoderBlock2D",) * 4, layers_per_block=2, latent_channels=4,
                        sample_size=512)
    image_encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
        image_size=224, patch_size=14, projection_dim=768))
    return dict(vae=vae, image_encoder=image_encoder, reference_net=unet2d, unet=denoising_unet_from_2d(unet2d),
                pose_guider=PoseGuider(conditioning_embedding_channels=320), scheduler=scheduler_for_animate_anyone())


def full_trainer(stage: int, dataset: Path, output_dir: Path, size: int, frames: int) -> Trainer:
    config = load_config(REPO / "configs" / f"stage{stage}.yaml", [
        f"data.root={dataset}", f"output_dir={output_dir}", "validation.every_steps=0", "model.source=tiny",
        f"data.width={size}", f"data.height={size}", f"data.num_frames={frames}", "data.sample_rate=1",
        "data.num_workers=0", "training.batch_size=1", "training.mixed_precision=no",
        "training.gradient_checkpointing=true"])
    return Trainer(config, components=full_size_components())


def loss_run(dataset: Path, output_dir: Path) -> None:
    trainer = tiny_trainer(1, dataset, output_dir, "training.max_steps=200", "checkpointing.every_steps=200")
    start = time.perf_counter()
    losses = trainer.fit().losses
    print(f"tiny stage 1, 200 steps in {time.perf_counter() - start:.0f} s: mean loss of steps 1-20 "
          f"{np.mean(losses[:20]):.4f}, of steps 181-200 {np.mean(losses[-20:]):.4f} "
          f"(ratio {np.mean(losses[-20:]) / np.mean(losses[:20]):.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", choices=["tiny", "tiny128", "full1", "full2"],
                        default=["tiny", "full1", "full2"],
                        help="full1/full2 each need ~15 GB; run them in separate invocations on small machines")
    parser.add_argument("--steps", type=int, default=10, help="timed tiny steps (after 2 warm-up steps)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[4, 8, 16], help="tiny128 batch sizes")
    parser.add_argument("--full-size", type=int, default=128, help="full-size stage-1 image size")
    parser.add_argument("--full-stage2-size", type=int, default=64, help="full-size stage-2 frame size")
    parser.add_argument("--full-optimizer", choices=["none", "adamw"], default="none",
                        help="full-size stage 1: time forward+backward only (none) or the AdamW step too")
    parser.add_argument("--loss-run", action="store_true", help="also run the 200-step tiny stage-1 loss check")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from diffusers.utils import logging as diffusers_logging

    diffusers_logging.set_verbosity_error()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device cpu")
    with tempfile.TemporaryDirectory() as temp:
        temp = Path(temp)
        dataset = write_synthetic_dataset(temp / "dataset", num_videos=3, num_frames=40, size=48)
        if "tiny" in args.parts:
            for stage in (1, 2):
                trainer = tiny_trainer(stage, dataset, temp / f"tiny{stage}")
                rate = time_steps(trainer, args.steps)
                shape = "32 px" if stage == 1 else f"{trainer.config.data.num_frames} frames of 32 px"
                print(f"tiny stage {stage} ({shape}, batch {trainer.config.training.batch_size}): "
                      f"{rate:.2f} samples/s training, {data_rate(trainer, 16):.1f} samples/s data decoding")
        if "tiny128" in args.parts:
            dataset128 = write_synthetic_dataset(temp / "dataset128", num_videos=3, num_frames=40, size=128)
            for batch_size in args.batch_sizes:
                for precision in ("no", "bf16"):
                    trainer = tiny128_trainer(dataset128, temp / f"tiny128-{batch_size}-{precision}", batch_size,
                                              precision)
                    rate = time_steps(trainer, args.steps)
                    print(f"tiny128 stage 1 (128 px, batch {batch_size}, {'fp32' if precision == 'no' else precision}): "
                          f"{rate:.2f} samples/s training", flush=True)
        if "full1" in args.parts:
            trainer = full_trainer(1, dataset, temp / "full1", args.full_size, 1)
            rate = time_steps(trainer, 1, warmup=1, optimizer=args.full_optimizer == "adamw")
            what = "whole step" if args.full_optimizer == "adamw" else "forward+backward"
            print(f"full-size stage 1 ({args.full_size} px, batch 1, {what}): {rate:.3f} samples/s")
        if "full2" in args.parts:
            trainer = full_trainer(2, dataset, temp / "full2", args.full_stage2_size, 24)
            rate = time_steps(trainer, 1, warmup=1)
            print(f"full-size stage 2 (24 frames of {args.full_stage2_size} px, batch 1, whole step): "
                  f"{rate:.3f} clips/s = {24 * rate:.2f} frames/s")
        if args.loss_run:
            loss_run(dataset, temp / "loss-run")


if __name__ == "__main__":
    main()
