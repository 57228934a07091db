"""Behaviour of AnimateAnyonePipeline on tiny random components."""

from __future__ import annotations

import numpy as np
import PIL.Image
import pytest
import torch
from core_helpers import SIZE, generate, make_poses

from animate_anyone import AnimateAnyonePipeline
from animate_anyone.testing import tiny_pipeline


@pytest.mark.parametrize("num_frames, context_frames", [(1, 24), (3, 24), (7, 4)])
def test_output_shape_for_any_frame_count(pipe, reference, num_frames, context_frames):
    frames = generate(pipe, reference, make_poses(num_frames), context_frames=context_frames, context_overlap=1)
    assert frames.shape == (num_frames, SIZE, SIZE, 3)
    assert np.isfinite(frames).all() and frames.min() >= 0 and frames.max() <= 1


def test_output_types_are_batch_first(pipe, reference):
    poses = make_poses(2)
    pil = generate(pipe, reference, poses, output_type="pil")
    assert len(pil) == 2 and all(isinstance(f, PIL.Image.Image) and f.size == (SIZE, SIZE) for f in pil)
    pt = generate(pipe, reference, poses, output_type="pt")
    assert pt.shape == (2, 3, SIZE, SIZE)
    as_np = generate(pipe, reference, poses)
    np.testing.assert_allclose(pt.permute(0, 2, 3, 1).numpy(), as_np, atol=0)
    np.testing.assert_array_equal(np.stack([np.asarray(f) for f in pil]), (as_np * 255).round().astype(np.uint8))
    latents = generate(pipe, reference, poses, output_type="latent")
    assert latents.shape == (4, 2, SIZE // 8, SIZE // 8)  # frames[0] of (1, 4, F, h, w)


def test_inputs_as_pil_array_and_tensor_agree(pipe, reference):
    poses = make_poses(2)
    as_uint8 = (reference * 255).round().astype(np.uint8)
    pose_uint8 = (poses * 255).round().astype(np.uint8)
    from_pil = generate(pipe, PIL.Image.fromarray(as_uint8), [PIL.Image.fromarray(p) for p in pose_uint8])
    from_tensor = generate(pipe, torch.from_numpy(as_uint8).permute(2, 0, 1) / 255.0,
                           torch.from_numpy(pose_uint8).permute(0, 3, 1, 2) / 255.0)
    np.testing.assert_array_equal(from_pil, from_tensor)


def test_same_seed_same_output_and_noise_matters(pipe, reference):
    poses = make_poses(3)
    first = generate(pipe, reference, poses, seed=5)
    np.testing.assert_array_equal(first, generate(pipe, reference, poses, seed=5))
    assert np.abs(first - generate(pipe, reference, poses, seed=6)).mean() > 1e-3


def test_initial_latents_reproduce_a_seeded_run(pipe, reference):
    poses = make_poses(2)
    noise = torch.randn((1, 4, 2, SIZE // 8, SIZE // 8), generator=torch.Generator().manual_seed(3))
    seeded = generate(pipe, reference, poses, seed=3)
    np.testing.assert_array_equal(seeded, generate(pipe, reference, poses, latents=noise))


def test_reference_image_changes_output(pipe, reference):
    poses = make_poses(2)
    other = np.random.RandomState(9).rand(SIZE, SIZE, 3).astype(np.float32)
    assert np.abs(generate(pipe, reference, poses) - generate(pipe, other, poses)).mean() > 1e-3


def test_reference_tokens_are_read(pipe, reference):
    poses = make_poses(2)
    with_reference = generate(pipe, reference, poses, guidance_scale=1.0)
    with pytest.MonkeyPatch.context() as patch:  # ReferenceNet writes nothing: the UNet reads an empty bank
        patch.setattr(pipe, "write_reference", lambda *args: pipe.reference_bank.clear())
        without = generate(pipe, reference, poses, guidance_scale=1.0)
    assert np.abs(with_reference - without).mean() > 1e-3
    np.testing.assert_array_equal(with_reference, generate(pipe, reference, poses, guidance_scale=1.0))


def test_pose_changes_output(pipe, reference):
    assert np.abs(generate(pipe, reference, make_poses(2, seed=1)) - generate(pipe, reference, make_poses(2, seed=2))).mean() > 1e-3


def test_guidance_changes_output_and_one_skips_unconditional_pass(pipe, reference):
    poses = make_poses(2)
    calls = []
    hook = pipe.unet.register_forward_hook(lambda module, args, output: calls.append(args[0].shape[0]))
    try:
        unguided = generate(pipe, reference, poses, guidance_scale=1.0)
        assert calls == [1, 1]
        guided = generate(pipe, reference, poses, guidance_scale=3.5)
        assert calls[2:] == [2, 2]
    finally:
        hook.remove()
    assert np.abs(unguided - guided).mean() > 1e-3


def test_reference_net_runs_once_per_video(pipe, reference):
    calls = []
    hook = pipe.reference_net.register_forward_hook(lambda *args: calls.append(1))
    try:
        generate(pipe, reference, make_poses(7), num_inference_steps=3, context_frames=4, context_overlap=1)
    finally:
        hook.remove()
    assert len(calls) == 1


@pytest.mark.parametrize("num_frames", [3, 4])
def test_windowed_equals_single_window_when_clip_fits(pipe, reference, num_frames):
    poses = make_poses(num_frames)
    whole = generate(pipe, reference, poses, context_frames=24, context_overlap=4)
    windowed = generate(pipe, reference, poses, context_frames=4, context_overlap=2)
    np.testing.assert_array_equal(whole, windowed)


def test_windows_change_long_videos_but_keep_them_finite(pipe, reference):
    poses = make_poses(6)
    whole = generate(pipe, reference, poses, context_frames=24)
    windowed = generate(pipe, reference, poses, context_frames=4, context_overlap=2)
    assert windowed.shape == whole.shape
    assert np.abs(whole - windowed).mean() > 1e-4  # temporal layers see different neighbours


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(height=30), "multiples of 8"),
        (dict(num_inference_steps=0), "num_inference_steps"),
        (dict(guidance_scale=0.5), "guidance_scale"),
        (dict(context_frames=4, context_overlap=4), "context_overlap"),
        (dict(context_frames=64), "position encoding"),
        (dict(output_type="gif"), "output_type"),
    ],
)
def test_check_inputs(pipe, reference, kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate(pipe, reference, make_poses(2), **kwargs)


def test_no_pose_frames_is_an_error(pipe, reference):
    with pytest.raises(ValueError, match="empty"):
        generate(pipe, reference, [])


def test_save_load_round_trip_is_exact(pipe, reference, tmp_path):
    poses = make_poses(3)
    before = generate(pipe, reference, poses)
    pipe.save_pretrained(tmp_path / "pipe")
    assert (tmp_path / "pipe" / "unet" / "diffusion_pytorch_model.safetensors").is_file()
    loaded = AnimateAnyonePipeline.from_pretrained(tmp_path / "pipe")
    loaded.set_progress_bar_config(disable=True)
    np.testing.assert_array_equal(before, generate(loaded, reference, poses))


def test_bf16_on_cpu_stays_close_to_fp32(reference):
    pipe = tiny_pipeline(seed=0)
    poses = make_poses(2)
    full = generate(pipe, reference, poses)
    pipe.to(dtype=torch.bfloat16)
    half = generate(pipe, reference, poses)
    assert half.dtype == np.float32 and np.isfinite(half).all()
    assert np.abs(full - half).mean() < 0.02


@pytest.mark.parametrize("guidance_scale", [1.0, 3.5])
def test_denoise_step_averages_window_predictions_per_frame(pipe, monkeypatch, guidance_scale):
    """Each window 'predicts' its own start frame everywhere: a frame's prediction must be the mean of
    the starts of the windows covering it, computed once per window and step."""
    from animate_anyone.pipelines.context import context_windows

    windows = context_windows(10, context_frames=4, context_overlap=1)  # [0, 4), [3, 7), [6, 10)
    calls = []

    def predict(latents, timestep, clip_embeds, window_start, guided):
        calls.append(latents.shape[2])
        return torch.full((2 if guided else 1, *latents.shape[1:]), float(window_start))

    monkeypatch.setattr(pipe, "predict_noise", predict)
    monkeypatch.setattr(pipe.scheduler, "step", lambda noise_pred, timestep, latents, **kwargs: (noise_pred,))
    latents = torch.zeros(1, 4, 10, 2, 2)
    out = pipe.denoise_step(latents, torch.tensor(999), None, lambda window: window.start, windows, guidance_scale)
    expected = [sum(w.start for w in windows if f in w) / sum(f in w for w in windows) for f in range(10)]
    torch.testing.assert_close(out[0, 0, :, 0, 0], torch.tensor(expected))
    assert calls == [4, 4, 4]
