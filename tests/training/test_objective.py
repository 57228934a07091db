"""The loss weighting keeps every timestep the sampler visits, the pure-noise one above all."""

from __future__ import annotations

import torch

from animate_anyone.training.objective import min_snr_weights, training_noise_scheduler


def test_min_snr_weights_train_the_noisy_steps_that_set_the_picture():
    """With zero terminal SNR the last step is pure noise and v = -x0: the whole picture comes from the
    conditions there. Its weight is full; the noisy half of the schedule is not starved (v1 gave the
    steps t > 800 under 0.5 % of the weight); only nearly clean steps are weighted down, to gamma / (SNR + 1)."""
    scheduler = training_noise_scheduler()
    timesteps = torch.arange(scheduler.config.num_train_timesteps)
    weights = min_snr_weights(scheduler, timesteps, gamma=5.0)
    assert weights[-1].item() == 1.0
    assert torch.all(weights > 0) and torch.all(weights <= 1)
    noisy = timesteps >= 500
    assert torch.all(weights[noisy] == 1.0)
    assert weights[timesteps >= 800].sum() / weights.sum() > 0.15
    snr = scheduler.alphas_cumprod[:10] / (1 - scheduler.alphas_cumprod[:10])
    assert torch.allclose(weights[:10], (5.0 / (snr + 1)).float())
