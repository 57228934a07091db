"""Feature reuse across steps (`deep_cache_interval`): off is today's output exactly; on, the deep blocks
run on full steps only, the output changes but keeps its shape and determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest
from core_helpers import generate, make_poses

STEPS = 6


@pytest.fixture(scope="module")
def poses():
    return make_poses(5)


@pytest.fixture(scope="module")
def default_video(pipe, poses):
    return generate(pipe, np.random.RandomState(0).rand(32, 32, 3).astype(np.float32), poses,
                    num_inference_steps=STEPS, guidance_scale=2.0)


def run(pipe, reference, poses, **kwargs):
    return generate(pipe, reference, poses, num_inference_steps=STEPS, guidance_scale=2.0, **kwargs)


def count_calls(module, calls: list):
    return module.register_forward_hook(lambda *_: calls.append(module))


def test_interval_one_is_the_default_output_exactly(pipe, reference, poses, default_video):
    np.testing.assert_array_equal(run(pipe, reference, poses, deep_cache_interval=1), default_video)


@pytest.mark.parametrize("interval, context", [(2, {}), (3, {}), (2, dict(context_frames=3, context_overlap=1))])
def test_reuse_skips_the_deep_blocks_between_full_steps(pipe, reference, poses, default_video, interval, context):
    deep, shallow = pipe.unet.down_blocks[1].resnets[0], pipe.unet.up_blocks[-1].resnets[0]
    calls: list = []
    hooks = [count_calls(deep, calls), count_calls(shallow, calls)]
    try:
        video = run(pipe, reference, poses, deep_cache_interval=interval, **context)
    finally:
        for hook in hooks:
            hook.remove()
    windows = 1 if not context else 2  # 5 frames in windows of 3 overlapping by 1: [0, 3), [2, 5)
    assert calls.count(shallow) == STEPS * windows
    assert calls.count(deep) == math.ceil(STEPS / interval) * windows
    assert video.shape == default_video.shape and np.isfinite(video).all()
    if not context:
        assert np.abs(video - default_video).max() > 1e-3  # reused features do change the numbers
    np.testing.assert_array_equal(run(pipe, reference, poses, deep_cache_interval=interval, **context), video)


def test_nothing_is_left_behind_after_a_call(pipe, reference, poses, default_video):
    run(pipe, reference, poses, deep_cache_interval=2)
    assert pipe._deep_cache is None
    unet = pipe.unet
    assert not any("forward" in vars(block) for block in [*unet.down_blocks, unet.mid_block, *unet.up_blocks])
    np.testing.assert_array_equal(run(pipe, reference, poses), default_video)


def test_guidance_switched_off_mid_run_recomputes_instead_of_reusing(pipe, reference, poses):
    def guidance_off_after_first_step(pipeline, step, timestep, tensors):
        pipeline._guidance_scale = 1.0
        return tensors

    video = run(pipe, reference, poses, deep_cache_interval=2, callback_on_step_end=guidance_off_after_first_step)
    assert np.isfinite(video).all()  # the unguided batch has its own key: no features of the wrong batch


def test_interval_below_one_is_refused(pipe, reference, poses):
    with pytest.raises(ValueError, match="deep_cache_interval must be at least 1"):
        run(pipe, reference, poses, deep_cache_interval=0)
