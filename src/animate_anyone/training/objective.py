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
    """Per-sample loss weights of the v-prediction loss: min(SNR + 1, gamma) / (SNR + 1).

    Min-SNR-gamma (Hang et al., 2023) as the published Animate Anyone training code applies it to
    v-prediction (Moore-AnimateAnyone's train_stage_1/2.py, like diffusers' examples of that time):
    full weight wherever SNR + 1 <= gamma, the noisy half of the schedule, and gamma / (SNR + 1)
    below, so the nearly clean steps do not dominate. The paper's own v-prediction form,
    min(SNR, gamma) / (SNR + 1), is about SNR at high noise: with zero terminal SNR it gives the last
    step (pure noise, where v = -x0 and the whole picture, background colour and clothes, has to come
    from the reference) weight 0, and t > 800 under 0.5 % of the total, so a model trained with it
    never learns the steps that set the colours. (issue 14: that was the tiny128 v1 recipe.)
    """
    snr_plus_one = compute_snr(scheduler, timesteps) + 1
    return torch.minimum(snr_plus_one, torch.full_like(snr_plus_one, gamma)) / snr_plus_one


def diffusion_loss(prediction: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    """Mean squared error per sample (over C, F, h, w), weighted per sample, then averaged over the batch."""
    per_sample = (prediction.float() - target.float()).pow(2).flatten(1).mean(dim=1)
    if weights is not None:
        per_sample = per_sample * weights.to(per_sample)
    return per_sample.mean()
