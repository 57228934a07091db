"""Samplers: every scheduler we offer is right for zero-SNR v-prediction, runs, and is deterministic."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from core_helpers import generate, make_poses

from animate_anyone import AnimateAnyonePipeline
from animate_anyone.errors import InputError
from animate_anyone.pipelines.schedulers import (
    SCHEDULERS,
    scheduler_for_animate_anyone,
    scheduler_name_of,
    scheduler_named,
)
from animate_anyone.testing import tiny_pipeline


def ideal_v(scheduler, sample: torch.Tensor, timestep: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """The exact v-prediction when the data is the single point `clean`: x_t = a x0 + s eps, v = (a x_t - x0) / s."""
    x_t = scheduler.scale_model_input(sample, timestep)  # the VP-space input the UNet sees
    alpha_bar = scheduler.alphas_cumprod[int(timestep)]
    alpha, sigma = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
    return (alpha * x_t - clean) / sigma


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
@pytest.mark.parametrize("steps", [1, 4, 25])
def test_perfect_denoiser_lands_exactly_on_the_data(name, steps):
    """Zero terminal SNR done right: sampling starts from pure noise and ends at sigma = 0, so a model that
    predicts v exactly reaches the clean sample (a final sigma_min > 0 would leave noise behind)."""
    scheduler = scheduler_for_animate_anyone(name)
    scheduler.set_timesteps(steps)
    assert int(scheduler.timesteps[0]) == 999  # trailing spacing: the first step is the pure-noise one
    generator = torch.Generator().manual_seed(0)
    clean = torch.randn(1, 4, 2, 4, 4, generator=generator)
    sample = torch.randn(clean.shape, generator=generator) * scheduler.init_noise_sigma
    for timestep in scheduler.timesteps:
        model_output = ideal_v(scheduler, sample, timestep, clean)
        sample = scheduler.step(model_output, timestep, sample, return_dict=False)[0]
    torch.testing.assert_close(sample, clean, atol=1e-3, rtol=0)  # fp32 at sigma 4096 (Euler) rounds ~1e-4


def test_ddim_is_the_training_schedule():
    config = scheduler_for_animate_anyone().config
    assert (config.prediction_type, config.rescale_betas_zero_snr, config.timestep_spacing,
            config.beta_schedule, config.beta_start, config.beta_end, config.clip_sample) == (
        "v_prediction", True, "trailing", "scaled_linear", 0.00085, 0.012, False)


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_scheduler_named_keeps_the_folder_schedule(name):
    current = scheduler_for_animate_anyone("ddim")
    current.register_to_config(beta_end=0.02)  # a model trained on another schedule keeps it
    swapped = scheduler_named(name, current)
    assert scheduler_name_of(swapped) == name
    assert (swapped.config.beta_end, swapped.config.prediction_type, swapped.config.rescale_betas_zero_snr) == (
        0.02, "v_prediction", True)


def test_unknown_scheduler_is_an_input_error():
    with pytest.raises(InputError, match="unknown scheduler 'heun': expected one of ddim, dpm\\+\\+2m, unipc, euler"):
        scheduler_named("heun", scheduler_for_animate_anyone())


@pytest.fixture(scope="module")
def pipes():
    """One tiny pipeline per scheduler, same weights. (Not one set of modules shared by several
    pipelines: each pipeline installs its own reference bank on the UNet, the last one built wins.)"""
    pipes = {name: tiny_pipeline(seed=0) for name in SCHEDULERS}
    for name, pipe in pipes.items():
        pipe.register_modules(scheduler=scheduler_named(name, pipe.scheduler))
    return pipes


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_each_scheduler_runs_and_is_deterministic(pipes, reference, name):
    pipe, poses = pipes[name], make_poses(3)
    pipe.set_progress_bar_config(disable=True)
    first = generate(pipe, reference, poses, num_inference_steps=4, guidance_scale=2.0, seed=3)
    assert first.shape == (3, 32, 32, 3) and np.isfinite(first).all()
    np.testing.assert_array_equal(first, generate(pipe, reference, poses, num_inference_steps=4,
                                                  guidance_scale=2.0, seed=3))
    assert np.abs(first - generate(pipe, reference, poses, num_inference_steps=4, guidance_scale=2.0,
                                   seed=4)).mean() > 1e-3


def test_solvers_differ_in_few_steps_and_converge_with_more(pipes, reference):
    """Different methods (the multistep solvers disagree with DDIM at 5 steps) for the same ODE: each is much closer to a 100-step
    DDIM solution at 40 steps than at 2; Euler on sigmas is DDIM (eta 0) written in other variables."""
    poses = make_poses(2)

    def latents(name, steps):
        return generate(pipes[name], reference, poses, num_inference_steps=steps, guidance_scale=3.5,
                        output_type="latent").numpy()

    target = latents("ddim", 100)
    at_5 = {name: latents(name, 5) for name in SCHEDULERS}
    assert min(np.abs(at_5[name] - at_5["ddim"]).mean() for name in ("dpm++2m", "unipc")) > 1e-3
    for name in SCHEDULERS:
        assert np.abs(latents(name, 40) - target).mean() < np.abs(latents(name, 2) - target).mean() / 2, name
    np.testing.assert_allclose(at_5["euler"], at_5["ddim"], atol=5e-3)


def test_folder_keeps_its_scheduler(pipes, tmp_path):
    pipes["unipc"].save_pretrained(tmp_path / "model")
    loaded = AnimateAnyonePipeline.from_pretrained(tmp_path / "model")
    assert scheduler_name_of(loaded.scheduler) == "unipc"
    assert public_config(loaded.scheduler) == public_config(pipes["unipc"].scheduler)


def public_config(scheduler) -> dict:
    return {key: value for key, value in scheduler.config.items() if not key.startswith("_")}
