"""Samplers for Animate Anyone models: diffusers schedulers on the noise schedule the models were trained with.

Every model here is trained with v-prediction on a zero-terminal-SNR `scaled_linear` schedule
(DESIGN §2), sampled with trailing timestep spacing. A pipeline folder stores its scheduler in
`scheduler/scheduler_config.json` (the diffusers way): that is the folder's default sampler.
`scheduler_named` swaps in another diffusers scheduler built `from_config` of the folder's one, so the
training schedule (betas, prediction type, zero SNR, spacing) carries over and only the solver changes.

Zero terminal SNR means the first (noisiest) timestep has sigma = infinity and the last one sigma = 0.
diffusers' sigma-based schedulers clip the first to alpha_cumprod = 2^-24 when `rescale_betas_zero_snr`
is set; the last must be `final_sigmas_type="zero"` (a full denoise to the clean sample, as DDIM's final
step does), which DPM-Solver++ and UniPC support with their data-prediction ("++"/`predict_x0`) forms.
"""

from __future__ import annotations

from diffusers import (
    DDIMScheduler,
    DPMSolverMultistepScheduler,
    EulerDiscreteScheduler,
    UniPCMultistepScheduler,
)
from diffusers.schedulers.scheduling_utils import SchedulerMixin

from animate_anyone.errors import InputError

# The schedule every Animate Anyone model is trained with (the published models and ours).
TRAINING_SCHEDULE = dict(
    num_train_timesteps=1000,
    beta_start=0.00085,
    beta_end=0.012,
    beta_schedule="scaled_linear",
    prediction_type="v_prediction",
    rescale_betas_zero_snr=True,
    timestep_spacing="trailing",
    steps_offset=1,
)

# name -> (class, the solver settings that make it right for zero-SNR v-prediction)
SCHEDULERS: dict[str, tuple[type[SchedulerMixin], dict]] = {
    "ddim": (DDIMScheduler, dict(clip_sample=False)),
    "dpm++2m": (DPMSolverMultistepScheduler, dict(algorithm_type="dpmsolver++", solver_order=2,
                                                  final_sigmas_type="zero", lower_order_final=True)),
    "unipc": (UniPCMultistepScheduler, dict(predict_x0=True, solver_type="bh2", solver_order=2,
                                            final_sigmas_type="zero", lower_order_final=True)),
    "euler": (EulerDiscreteScheduler, dict(final_sigmas_type="zero", timestep_type="discrete")),
}
DEFAULT_SCHEDULER = "ddim"


def scheduler_for_animate_anyone(name: str = DEFAULT_SCHEDULER) -> SchedulerMixin:
    """Scheduler `name` (see `SCHEDULERS`) on the Animate Anyone training schedule."""
    scheduler_class, solver = scheduler_entry(name)
    return scheduler_class(**TRAINING_SCHEDULE, **solver)


def scheduler_named(name: str, current: SchedulerMixin) -> SchedulerMixin:
    """Scheduler `name` on the noise schedule of `current` (e.g. the one saved in a pipeline folder)."""
    scheduler_class, solver = scheduler_entry(name)
    return scheduler_class.from_config(current.config, **solver)


def scheduler_name_of(scheduler: SchedulerMixin) -> str:
    """Our name for a scheduler instance (its class name when it is not one of `SCHEDULERS`)."""
    for name, (scheduler_class, _) in SCHEDULERS.items():
        if type(scheduler) is scheduler_class:
            return name
    return type(scheduler).__name__


def scheduler_entry(name: str) -> tuple[type[SchedulerMixin], dict]:
    """`SCHEDULERS[name]`, or one clear InputError naming the choices."""
    if name not in SCHEDULERS:
        raise InputError(f"unknown scheduler {name!r}: expected one of {', '.join(SCHEDULERS)}")
    return SCHEDULERS[name]
