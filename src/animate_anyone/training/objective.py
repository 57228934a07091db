"""The diffusion training objective of the recipe: zero-SNR v-prediction, noise offset, min-SNR weighting."""

from __future__ import annotations

import torch
from diffusers import DDPMScheduler
from diffusers.training_utils import compute_snr

from animate_anyone.pipelines.schedulers import scheduler_for_animate_anyone


def training_noise_scheduler() -> DDPMScheduler:
    """DDPM with the inference scheduler's betas: scaled-linear, rescaled to zero terminal SNR, v-prediction."""
    return DDPMScheduler.from_config(scheduler_for_animate_anyone().config)


def sample_noise(latents: torch.Tensor, noise_offset: float, generator: torch.Generator) -> torch.Tensor:
    """Gaussian noise like (B, C, F, h, w) `latents`, plus `noise_offset` x a per-(sample, channel) constant
    shared by every frame and pixel (Guttenberg's offset noise; the published recipe uses 0.05)."""
    noise = torch.randn(latents.shape, generator=generator, device=latents.device, dtype=latents.dtype)
    if noise_offset:
        offset = torch.randn((*latents.shape[:2], 1, 1, 1), generator=generator, device=latents.device,
                             dtype=latents.dtype)
        noise = noise + noise_offset * offset
    return noise


def min_snr_weights(scheduler: DDPMScheduler, timesteps: torch.Tensor, gamma: float) -> torch.Tensor:
    """Per-sample loss weights of Min-SNR-gamma (Hang et al., 2023) for the v-prediction loss: min(SNR, gamma) / (SNR + 1).

    Zero terminal SNR makes SNR(T) = 0, so the last timestep gets weight 0 instead of dividing by zero.
    """
    snr = compute_snr(scheduler, timesteps)
    return torch.minimum(snr, torch.full_like(snr, gamma)) / (snr + 1)


def diffusion_loss(prediction: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    """Mean squared error per sample (over C, F, h, w), weighted per sample, then averaged over the batch."""
    per_sample = (prediction.float() - target.float()).pow(2).flatten(1).mean(dim=1)
    if weights is not None:
        per_sample = per_sample * weights.to(per_sample)
    return per_sample.mean()
