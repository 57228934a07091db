"""A stop-gap until the pipeline takes diffusers' step callback (issue #11); delete this module then.

The web UI is written against diffusers' contract: `callback_on_step_end(pipe, step, timestep,
callback_kwargs) -> dict` after every denoising step, `pipe._interrupt = True` inside it to skip the
remaining steps, and `.frames` batch-first. `call_with_step_callback` passes the callback straight on
when the pipeline accepts it; otherwise it gives the current pipeline that contract from outside, by
wrapping the instance's `denoise_step` for the length of one call.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable


def call_with_step_callback(pipeline, callback: Callable, **kwargs):
    """`pipeline(callback_on_step_end=callback, **kwargs).frames`, batch-first."""
    if "callback_on_step_end" in inspect.signature(pipeline.__call__).parameters:
        return pipeline(callback_on_step_end=callback, **kwargs).frames
    steps = itertools.count()
    denoise_step = pipeline.denoise_step

    def step_then_callback(latents, timestep, *args, **step_kwargs):
        if pipeline._interrupt:  # as diffusers' loops do: the remaining steps are skipped
            return latents
        latents = denoise_step(latents, timestep, *args, **step_kwargs)
        callback(pipeline, next(steps), timestep, {"latents": latents})
        return latents

    pipeline._interrupt = False
    pipeline.denoise_step = step_then_callback
    try:
        frames = pipeline(**kwargs).frames
    finally:
        del pipeline.denoise_step  # the class's method again
    return frames[None]
