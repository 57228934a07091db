"""GPU check: 24 frames at 512x768, 25 steps, guidance 3.5, fp16, with and without torch.compile.

Builds the full-size pipeline (SD-1.5 VAE, CLIP ViT-L/14 image encoder, SD-1.5 ReferenceNet, SD-1.5
UNet with 21 motion modules, the released Pose Guider layout) with random weights, or loads a pipeline
folder (`--model`), and times on one CUDA device:

* `offload`: `enable_model_cpu_offload()` (each component on the GPU only while it runs), eager;
* `eager`: everything resident on the GPU;
* `compile`: resident, the denoising UNet under `torch.compile`; a first whole run is the warm-up
  (compilation), reported apart, then the timed run.

For each it prints seconds per denoising step, end-to-end seconds (reference encoding, 25 steps,
VAE decode) and the peak VRAM (`torch.cuda.max_memory_allocated`).

    python benchmarks/gpu_check.py [--model FOLDER] [--modes offload eager compile] [--frames 24]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from diffusers.utils import logging as diffusers_logging
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

from animate_anyone.models.builders import SD15_UNET2D_CONFIG, denoising_unet_from_2d
from animate_anyone.models.pose_guider import PoseGuider
from animate_anyone.pipelines.pipeline_animate_anyone import AnimateAnyonePipeline
from animate_anyone.pipelines.schedulers import scheduler_for_animate_anyone

SD15_VAE = dict(block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
                up_block_types=("UpDecoderBlock2D",) * 4, latent_channels=4, layers_per_block=2, sample_size=512)
CLIP_VIT_L14 = dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                    image_size=224, patch_size=14, projection_dim=768)


def full_size_pipeline(dtype: torch.dtype) -> AnimateAnyonePipeline:
    """Every component at its published size, random weights (the cost is the same as trained ones)."""
    torch.manual_seed(0)
    unet2d = UNet2DConditionModel(**SD15_UNET2D_CONFIG)
    pipeline = AnimateAnyonePipeline(
        vae=AutoencoderKL(**SD15_VAE), image_encoder=CLIPVisionModelWithProjection(CLIPVisionConfig(**CLIP_VIT_L14)),
        reference_net=UNet2DConditionModel(**SD15_UNET2D_CONFIG), unet=denoising_unet_from_2d(unet2d),
        pose_guider=PoseGuider(block_out_channels=(16, 32, 96, 256)), scheduler=scheduler_for_animate_anyone(),
    )
    return pipeline.to(dtype=dtype)


def run(pipeline: AnimateAnyonePipeline, frames: int, steps: int, device: torch.device) -> dict[str, float]:
    rng = np.random.default_rng(0)
    reference = rng.integers(0, 256, (768, 512, 3), dtype=np.uint8)
    poses = rng.integers(0, 256, (frames, 768, 512, 3), dtype=np.uint8)
    ends: list[float] = []  # when each UNet call (one per step: a single 24-frame window) returns
    hook = pipeline.unet.register_forward_hook(lambda *_: ends.append(time.perf_counter()))
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    pipeline(reference, poses, height=768, width=512, num_inference_steps=steps, guidance_scale=3.5,
             generator=torch.Generator().manual_seed(0), output_type="np")
    torch.cuda.synchronize(device)
    total = time.perf_counter() - start
    hook.remove()
    return {"s/step": float(np.median(np.diff(ends))), "first step (s)": ends[0] - start,
            "end to end (s)": total, "peak VRAM (GiB)": torch.cuda.max_memory_allocated(device) / 2**30}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="pipeline folder (default: random full-size weights)")
    parser.add_argument("--modes", nargs="+", choices=["offload", "eager", "compile"],
                        default=["offload", "eager", "compile"])
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--steps", type=int, default=25)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("gpu_check: no CUDA device here")
    diffusers_logging.set_verbosity_error()
    device = torch.device("cuda")
    print(f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}, fp16, {args.frames} frames at 512x768, "
          f"{args.steps} steps, guidance 3.5")
    if args.model:
        pipeline = AnimateAnyonePipeline.from_pretrained(args.model, torch_dtype=torch.float16)
    else:
        pipeline = full_size_pipeline(torch.float16)
    pipeline.set_progress_bar_config(disable=True)
    for mode in args.modes:
        if mode == "offload":
            pipeline.enable_model_cpu_offload(device=device)
        else:
            pipeline.remove_all_hooks()
            pipeline.to(device)
            if mode == "compile":
                pipeline.unet.compile()
                warm_up = run(pipeline, args.frames, args.steps, device)
                print(f"{'warm-up':8s} " + ", ".join(f"{key} {value:.2f}" for key, value in warm_up.items()))
        result = run(pipeline, args.frames, args.steps, device)
        print(f"{mode:8s} " + ", ".join(f"{key} {value:.2f}" for key, value in result.items()), flush=True)


if __name__ == "__main__":
    main()
