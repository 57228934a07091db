"""Time and peak memory of one denoising step vs video length, with the real SD-1.5 architecture.

Random weights (no hub here), SD-1.5 UNet + 21 motion modules + the released Pose Guider layout,
guidance on (the pair batched), windows of 24 frames overlapping by 4. Reports, in one run:

* seconds and peak memory per step for each frame count, and seconds per frame (should be flat);
* the saving from computing the reference keys/values once per video, as the ratio of a step that
  recomputes them for every frame (the published implementations' way, which is also what any
  diffusers processor computes through the reference hooks: here SDPA's `AttnProcessor2_0`) to ours.

    python benchmarks/bench_denoising_step.py [--frames 8 24 48 96] [--size 128] [--device cpu]

Peak memory: on CUDA `max_memory_allocated`; on the CPU the peak resident set size sampled every
2 ms during the step, minus the resident size before it.
"""

from __future__ import annotations

import argparse
import threading
import time

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from diffusers.models.attention_processor import AttnProcessor2_0
from diffusers.utils import logging as diffusers_logging

from animate_anyone.models.builders import SD15_UNET2D_CONFIG, denoising_unet_from_2d
from animate_anyone.models.pose_guider import PoseGuider
from animate_anyone.models.reference_attention import spatial_self_attention_paths, use_reference_attn_processor
from animate_anyone.pipelines.context import context_windows
from animate_anyone.pipelines.pipeline_animate_anyone import AnimateAnyonePipeline
from animate_anyone.pipelines.schedulers import scheduler_for_animate_anyone
from animate_anyone.testing import TINY_UNET2D_CONFIG, tiny_image_encoder


class PeakMemory:
    """Peak memory during a block: CUDA allocator peak, or sampled resident set size on the CPU."""

    def __init__(self, device: torch.device):
        self.device = device

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * 4096

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.base = torch.cuda.memory_allocated(self.device)
        else:
            self.base, self.peak, self.running = self._rss(), self._rss(), True
            self.thread = threading.Thread(target=self._sample, daemon=True)
            self.thread.start()
        return self

    def _sample(self):
        while self.running:
            self.peak = max(self.peak, self._rss())
            time.sleep(0.002)

    def __exit__(self, *exc):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.peak = torch.cuda.max_memory_allocated(self.device)
        else:
            self.running = False
            self.thread.join()
        self.used_gib = (self.peak - self.base) / 2**30


def build_pipeline(device: torch.device, dtype: torch.dtype) -> AnimateAnyonePipeline:
    """Full-size denoising UNet and Pose Guider; the reference bank is filled directly (see below), so a
    tiny ReferenceNet, VAE and image encoder stand in for the parts a denoising step does not touch."""
    torch.manual_seed(0)
    unet = denoising_unet_from_2d(UNet2DConditionModel(**SD15_UNET2D_CONFIG))
    tiny_2d = dict(TINY_UNET2D_CONFIG, cross_attention_dim=768)
    pipeline = AnimateAnyonePipeline(
        vae=AutoencoderKL(block_out_channels=(16, 16, 32, 32), down_block_types=("DownEncoderBlock2D",) * 4,
                          up_block_types=("UpDecoderBlock2D",) * 4, norm_num_groups=8),
        image_encoder=tiny_image_encoder(), reference_net=UNet2DConditionModel(**tiny_2d), unet=unet,
        pose_guider=PoseGuider(block_out_channels=(16, 32, 96, 256)), scheduler=scheduler_for_animate_anyone(),
    )
    return pipeline.to(device=device, dtype=dtype)


def fill_reference_bank(pipeline: AnimateAnyonePipeline, latent_size: int | tuple[int, int], device: torch.device) -> None:
    """Reference tokens of the right shape for every block: the UNet's own attn1 inputs on one frame."""
    shapes = {}
    hooks = [pipeline.unet.get_submodule(f"{path}.attn1").register_forward_pre_hook(
        lambda module, args, kwargs, path=path: shapes.__setitem__(path, (args[0] if args else kwargs["hidden_states"]).shape),
        with_kwargs=True) for path in spatial_self_attention_paths(pipeline.unet)]
    height, width = (latent_size, latent_size) if isinstance(latent_size, int) else latent_size
    sample = torch.randn(1, 4, 1, height, width, device=device, dtype=pipeline.unet.dtype)
    with torch.no_grad():
        pipeline.unet(sample, 0, torch.zeros(1, 1, 768, device=device, dtype=pipeline.unet.dtype))
    for hook in hooks:
        hook.remove()
    for path, shape in shapes.items():
        pipeline.reference_bank.write(path, torch.randn(1, *shape[1:], device=device, dtype=pipeline.unet.dtype))


def one_step(pipeline, num_frames: int, size: int, device: torch.device, context_frames: int = 24,
             context_overlap: int = 4) -> tuple[float, float]:
    latent = size // 8
    latents = torch.randn(1, 4, num_frames, latent, latent, device=device)
    pose_pixels = torch.rand(num_frames, 3, size, size)
    clip = torch.randn(1, 1, 768, device=device)
    windows = context_windows(num_frames, context_frames, context_overlap)
    pipeline.scheduler.set_timesteps(25, device=device)
    timestep = pipeline.scheduler.timesteps[0]
    with torch.no_grad(), PeakMemory(device) as memory:
        start = time.perf_counter()
        pose = pipeline.pose_features_per_window(pose_pixels[None], windows, 1, device)
        pipeline.denoise_step(latents, timestep, clip, pose, windows, guidance_scale=3.5)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - start
    return seconds, memory.used_gib


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[8, 24, 48, 96])
    parser.add_argument("--size", type=int, default=128, help="square frame size in pixels (latent = size / 8)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", choices=["fp32", "fp16", "bf16"], default="fp32")
    args = parser.parse_args()
    diffusers_logging.set_verbosity_error()
    device = torch.device(args.device)
    dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[args.dtype]
    pipeline = build_pipeline(device, dtype)
    fill_reference_bank(pipeline, args.size // 8, device)
    print(f"device {device} ({torch.get_num_threads()} threads), {args.dtype}, {args.size}x{args.size} px, "
          f"SD-1.5 UNet + motion modules ({sum(p.numel() for p in pipeline.unet.parameters()) / 1e9:.2f}B params), "
          f"guidance 3.5, windows 24/4\n")
    one_step(pipeline, min(args.frames), args.size, device)  # warm-up
    print("| frames | windows | step (s) | s / frame | peak memory (GiB) |\n|---|---|---|---|---|")
    for frames in args.frames:
        seconds, gib = one_step(pipeline, frames, args.size, device)
        print(f"| {frames} | {len(context_windows(frames, 24, 4))} | {seconds:.2f} | {seconds / frames:.3f} | {gib:.2f} |",
              flush=True)

    frames = 24
    ours, _ = one_step(pipeline, frames, args.size, device)
    pipeline.unet.set_attn_processor(AttnProcessor2_0())  # the reference hooks concatenate the tokens per frame
    per_frame, _ = one_step(pipeline, frames, args.size, device)
    use_reference_attn_processor(pipeline.unet)
    ours_again, _ = one_step(pipeline, frames, args.size, device)
    ours = min(ours, ours_again)
    print(f"\nreference keys/values once per video vs per frame ({frames} frames, one step): "
          f"{ours:.2f} s vs {per_frame:.2f} s -> per-frame / once = {per_frame / ours:.3f}")


if __name__ == "__main__":
    main()
