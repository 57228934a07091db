"""The diffusers pipeline contract, point by point, on the tiny pipeline.

In the spirit of diffusers' generic pipeline tests (written here for this pipeline): save/load,
`components`, dict vs tuple output, dtype, attention backends keeping the reference, callbacks and
interrupt, the batch axis, offload, the call signature, and one-sentence refusals.
"""

from __future__ import annotations

import inspect

import numpy as np
import PIL.Image
import pytest
import torch
from core_helpers import SIZE, make_poses
from diffusers.models.attention_processor import AttnProcessor, AttnProcessor2_0, FusedAttnProcessor2_0

from animate_anyone import AnimateAnyonePipeline
from animate_anyone.cli import main
from animate_anyone.models.reference_attention import (
    ReferenceAttnProcessor,
    ReferenceBank,
    install_reference_reader,
    install_reference_writer,
    spatial_self_attention_paths,
)
from animate_anyone.testing import tiny_components, tiny_pipeline

BACKEND_TOLERANCE = 1e-3  # another attention implementation: same model, other rounding


def run(pipe, reference, poses, seeds=(0,), **kwargs):
    """Frames of a call with one generator per seed: np (V, F, H, W, 3) unless output_type says otherwise."""
    options = dict(height=SIZE, width=SIZE, num_inference_steps=2, output_type="np")
    options.update(kwargs)
    generators = [torch.Generator().manual_seed(seed) for seed in seeds]
    return pipe(reference, poses, generator=generators if len(seeds) > 1 else generators[0], **options).frames


def first_attn1(pipe):
    return pipe.unet.get_submodule(f"{spatial_self_attention_paths(pipe.unet)[0]}.attn1")


@pytest.fixture
def poses():
    return make_poses(2)


@pytest.fixture(scope="module")
def default_video(pipe):
    reference = np.random.RandomState(0).rand(SIZE, SIZE, 3).astype(np.float32)
    return run(pipe, reference, make_poses(2))


@pytest.fixture
def fresh():
    return tiny_pipeline(seed=0)


# ------------------------------------------------------------------ save, load, components, outputs


@pytest.mark.parametrize("with_reference_net", [True, False])
def test_save_load_round_trip(reference, poses, tmp_path, with_reference_net):
    components = tiny_components(seed=0)
    if not with_reference_net:
        components["reference_net"] = None
    pipe = AnimateAnyonePipeline(**components)
    pipe.set_progress_bar_config(disable=True)
    before = run(pipe, reference, poses)
    pipe.save_pretrained(tmp_path / "pipe")
    loaded = AnimateAnyonePipeline.from_pretrained(tmp_path / "pipe")
    loaded.set_progress_bar_config(disable=True)
    assert (loaded.reference_net is None) == (not with_reference_net)
    np.testing.assert_array_equal(before, run(loaded, reference, poses))
    assert isinstance(first_attn1(loaded).processor, ReferenceAttnProcessor)


def test_components_round_trip(pipe, reference, poses, default_video):
    assert set(pipe.components) == {"vae", "image_encoder", "reference_net", "unet", "pose_guider", "scheduler"}
    rebuilt = AnimateAnyonePipeline(**pipe.components)
    rebuilt.set_progress_bar_config(disable=True)
    np.testing.assert_array_equal(run(rebuilt, reference, poses), default_video)
    # building on the same modules moved their reference hooks to `rebuilt`: the first pipeline refuses
    with pytest.raises(ValueError, match="does not read this pipeline's reference bank"):
        run(pipe, reference, poses)
    install_reference_writer(pipe.reference_net, pipe.reference_bank)
    install_reference_reader(pipe.unet, pipe.reference_bank)
    np.testing.assert_array_equal(run(pipe, reference, poses), default_video)


def test_dict_and_tuple_outputs_agree(pipe, reference, poses, default_video):
    (frames,) = pipe(reference, poses, height=SIZE, width=SIZE, num_inference_steps=2, output_type="np",
                     generator=torch.Generator().manual_seed(0), return_dict=False)
    np.testing.assert_array_equal(frames, default_video)


def test_frames_are_batch_first_in_every_output_type(pipe, reference, poses, default_video):
    assert default_video.shape == (1, 2, SIZE, SIZE, 3)
    pil = run(pipe, reference, poses, output_type="pil")
    assert len(pil) == 1 and len(pil[0]) == 2 and all(isinstance(frame, PIL.Image.Image) for frame in pil[0])
    pt = run(pipe, reference, poses, output_type="pt")
    assert pt.shape == (1, 2, 3, SIZE, SIZE)
    np.testing.assert_array_equal(pt.permute(0, 1, 3, 4, 2).numpy(), default_video)
    assert run(pipe, reference, poses, output_type="latent").shape == (1, 4, 2, SIZE // 8, SIZE // 8)


def test_to_bfloat16_runs_on_cpu(fresh, reference, poses, default_video):
    fresh.to(torch.bfloat16)
    assert {module.dtype for module in fresh.components.values() if isinstance(module, torch.nn.Module)} == {
        torch.bfloat16}
    frames = run(fresh, reference, poses)
    assert frames.dtype == np.float32 and np.isfinite(frames).all()
    assert np.abs(frames - default_video).mean() < 0.02


def test_call_signature():
    parameters = inspect.signature(AnimateAnyonePipeline.__call__).parameters
    for name in ("reference_image", "pose_frames", "height", "width", "num_inference_steps", "guidance_scale",
                 "num_videos_per_prompt", "generator", "latents", "output_type", "return_dict",
                 "callback_on_step_end", "callback_on_step_end_tensor_inputs"):
        assert name in parameters, name
    assert parameters["output_type"].default == "pil" and parameters["return_dict"].default is True
    assert parameters["num_videos_per_prompt"].default == 1
    assert "latents" in AnimateAnyonePipeline._callback_tensor_inputs


# ------------------------------------------------------------------ attention backends keep the reference


def test_attention_slicing_keeps_the_reference_and_disable_restores(pipe, reference, poses, default_video):
    without_reference = run(pipe, reference, poses, guidance_scale=1.0)
    pipe.enable_attention_slicing(1)
    try:
        assert type(first_attn1(pipe).processor).__name__ == "SlicedAttnProcessor"
        assert type(pipe.reference_net.get_submodule(
            f"{spatial_self_attention_paths(pipe.reference_net)[0]}.attn1").processor).__name__ == "SlicedAttnProcessor"
        np.testing.assert_allclose(run(pipe, reference, poses), default_video, atol=BACKEND_TOLERANCE, rtol=0)
        pipe.enable_attention_slicing("max")
        np.testing.assert_allclose(run(pipe, reference, poses), default_video, atol=BACKEND_TOLERANCE, rtol=0)
    finally:
        pipe.disable_attention_slicing()
    assert isinstance(first_attn1(pipe).processor, ReferenceAttnProcessor)
    np.testing.assert_array_equal(run(pipe, reference, poses), default_video)
    assert np.abs(without_reference - default_video).mean() > 1e-3  # the tolerance above is meaningful


@pytest.mark.parametrize("swap", ["sdpa", "math", "default"])
def test_diffusers_processors_keep_the_reference(pipe, reference, poses, default_video, swap):
    if swap == "default":
        pipe.unet.set_default_attn_processor()
        pipe.reference_net.set_default_attn_processor()
    else:
        pipe.unet.set_attn_processor(AttnProcessor2_0() if swap == "sdpa" else AttnProcessor())
    try:
        assert not isinstance(first_attn1(pipe).processor, ReferenceAttnProcessor)
        np.testing.assert_allclose(run(pipe, reference, poses), default_video, atol=BACKEND_TOLERANCE, rtol=0)
    finally:
        pipe.disable_xformers_memory_efficient_attention()  # puts the reference processor back (no xFormers needed)
    assert isinstance(first_attn1(pipe).processor, ReferenceAttnProcessor)
    np.testing.assert_array_equal(run(pipe, reference, poses), default_video)


def test_processor_that_would_drop_the_reference_is_refused(pipe, reference, poses):
    pipe.unet.set_attn_processor(FusedAttnProcessor2_0())
    calls = []
    hook = pipe.reference_net.register_forward_hook(lambda *args: calls.append(1))
    try:
        with pytest.raises(ValueError) as error:
            run(pipe, reference, poses)
    finally:
        hook.remove()
        pipe.disable_attention_slicing()  # SDPA everywhere, the reference processor on the spatial attn1
    message = str(error.value)
    assert "FusedAttnProcessor2_0" in message and "cannot attend over the reference tokens" in message
    assert "\n" not in message and message.count(". ") == 0
    assert calls == []  # refused before any work


def test_removed_reference_writer_is_refused(fresh, reference, poses):
    install_reference_writer(fresh.reference_net, ReferenceBank())  # ReferenceNet now writes elsewhere
    with pytest.raises(ValueError, match="ReferenceNet wrote no reference tokens"):
        run(fresh, reference, poses)


def test_reference_keys_values_are_projected_once_per_video(pipe, reference, monkeypatch):
    projected = []
    original = ReferenceBank.keys_values

    def counting(bank, name, attn):
        if name not in bank._keys_values:
            projected.append(name)
        return original(bank, name, attn)

    monkeypatch.setattr(ReferenceBank, "keys_values", counting)
    run(pipe, reference, make_poses(7), num_inference_steps=3, context_frames=4, context_overlap=1)
    assert sorted(projected) == sorted(spatial_self_attention_paths(pipe.unet))  # once per block, not per step


def test_cli_turns_a_pipeline_refusal_into_one_line(tmp_path, capsys, monkeypatch, shared_dir):
    from animate_anyone.pipelines import loading

    def refuse(*args):
        raise ValueError("ReferenceNet wrote no reference tokens for x")

    def refusing_pipeline(*args, **kwargs):
        pipe = tiny_pipeline(seed=0)
        monkeypatch.setattr(pipe, "write_reference", refuse)
        return pipe

    monkeypatch.setattr(loading, "load_pipeline", refusing_pipeline)
    poses = tmp_path / "pose.png"
    PIL.Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(poses)
    output = tmp_path / "out.mp4"
    code = main(["animate", "--reference", str(shared_dir / "reference" / "media" / "ref_anime_woman.png"),
                 "--pose", str(poses), "--model", "tiny-random", "--output", str(output), "--width", "32",
                 "--height", "32", "--steps", "1"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == "animate-anyone: error: ReferenceNet wrote no reference tokens for x"
    assert not output.exists()


# ------------------------------------------------------------------ callbacks and interrupt


def test_callback_sees_every_step_and_its_edits_are_used(pipe, reference, poses, default_video):
    seen = []

    def record(pipeline, step, timestep, tensors):
        assert pipeline is pipe and pipeline.num_timesteps == 2 and pipeline.guidance_scale == 3.5
        assert pipeline.do_classifier_free_guidance
        seen.append((step, int(timestep), tuple(tensors["latents"].shape), tuple(tensors["image_embeds"].shape)))
        return {}

    np.testing.assert_array_equal(run(pipe, reference, poses, callback_on_step_end=record,
                                      callback_on_step_end_tensor_inputs=["latents", "image_embeds"]), default_video)
    timesteps = [int(t) for t in pipe.scheduler.timesteps]
    assert seen == [(i, t, (1, 4, 2, SIZE // 8, SIZE // 8), (1, 1, 32)) for i, t in enumerate(timesteps)]

    def scale_latents(pipeline, step, timestep, tensors):
        return {"latents": tensors["latents"] * 0.5}

    edited = run(pipe, reference, poses, callback_on_step_end=scale_latents)
    assert np.abs(edited - default_video).mean() > 1e-3


def test_callback_may_turn_guidance_off_for_the_remaining_steps(pipe, reference, poses):
    batches = []
    hook = pipe.unet.register_forward_hook(lambda module, args, output: batches.append(args[0].shape[0]))

    def stop_guidance(pipeline, step, timestep, tensors):
        pipeline._guidance_scale = 1.0
        return tensors

    try:
        run(pipe, reference, poses, num_inference_steps=3, callback_on_step_end=stop_guidance)
    finally:
        hook.remove()
    assert batches == [2, 1, 1]


def test_interrupt_stops_after_the_current_step(pipe, reference, poses):
    steps = []

    def cancel_after_first(pipeline, step, timestep, tensors):
        steps.append(step)
        pipeline.interrupt = True
        return tensors

    calls = []
    hook = pipe.unet.register_forward_hook(lambda *args: calls.append(1))
    try:
        frames = run(pipe, reference, poses, num_inference_steps=5, callback_on_step_end=cancel_after_first)
    finally:
        hook.remove()
    assert steps == [0] and len(calls) == 1 and frames.shape == (1, 2, SIZE, SIZE, 3)
    run(pipe, reference, poses, num_inference_steps=1)  # the next call starts uninterrupted
    assert not pipe.interrupt


def test_unknown_callback_tensor_is_refused(pipe, reference, poses):
    with pytest.raises(ValueError, match="callback_on_step_end_tensor_inputs"):
        run(pipe, reference, poses, callback_on_step_end=lambda *args: {},
            callback_on_step_end_tensor_inputs=["latents", "noise"])


# ------------------------------------------------------------------ the batch axis

BATCH_TOLERANCE = 1e-5  # a batched matmul may round differently from two single ones


def test_batch_of_two_equals_two_single_calls(pipe, reference, poses):
    other_reference = np.random.RandomState(7).rand(SIZE, SIZE, 3).astype(np.float32)
    other_poses = make_poses(2, seed=8)
    batch = run(pipe, [reference, other_reference], [poses, other_poses], seeds=(3, 4))
    assert batch.shape == (2, 2, SIZE, SIZE, 3)
    single = [run(pipe, reference, poses, seeds=(3,))[0], run(pipe, other_reference, other_poses, seeds=(4,))[0]]
    np.testing.assert_allclose(batch, np.stack(single), atol=BATCH_TOLERANCE, rtol=0)
    assert np.abs(batch[0] - batch[1]).mean() > 1e-3


def test_batch_as_arrays_with_windows_and_without_guidance(pipe, reference):
    references = np.stack([reference, np.random.RandomState(7).rand(SIZE, SIZE, 3).astype(np.float32)])
    pose_batch = np.stack([make_poses(5, seed=1), make_poses(5, seed=2)])  # (B, F, H, W, 3)
    options = dict(seeds=(1, 2), guidance_scale=1.0, context_frames=3, context_overlap=1)
    batch = run(pipe, references, pose_batch, **options)
    single = [run(pipe, references[i], pose_batch[i], seeds=(i + 1,), guidance_scale=1.0, context_frames=3,
                  context_overlap=1)[0] for i in range(2)]
    np.testing.assert_allclose(batch, np.stack(single), atol=BATCH_TOLERANCE, rtol=0)


def test_one_reference_for_several_pose_sequences_and_videos_per_prompt(pipe, reference, poses):
    other_poses = make_poses(2, seed=8)
    frames = run(pipe, reference, [poses, other_poses], seeds=(0, 1, 2, 3), num_videos_per_prompt=2,
                 output_type="pil")
    assert len(frames) == 4 and all(len(video) == 2 for video in frames)
    as_array = np.stack([np.stack([np.asarray(frame) for frame in video]) for video in frames]).astype(np.float32)
    expected = [run(pipe, reference, p, seeds=(seed,))[0] for p, seed in
                [(poses, 0), (poses, 1), (other_poses, 2), (other_poses, 3)]]
    np.testing.assert_allclose(as_array / 255, np.stack(expected), atol=1 / 255 + BATCH_TOLERANCE, rtol=0)


def test_one_generator_draws_noise_for_the_whole_batch(pipe, reference, poses):
    latents = run(pipe, [reference, reference], poses, output_type="latent", num_inference_steps=1)
    assert latents.shape == (2, 4, 2, SIZE // 8, SIZE // 8)
    assert (latents[0] - latents[1]).abs().mean() > 1e-3  # one generator, two different noises


@pytest.mark.parametrize(
    "reference_count, pose_frame_counts, kwargs, message",
    [
        (2, [2, 2, 2], {}, "2 reference images and 3 pose sequences"),
        (1, [2, 3], {}, "equal frame counts"),
        (2, [2, 2], dict(seeds=(0, 1, 2)), "3 generators for 2 videos"),
        (1, [2], dict(num_videos_per_prompt=0), "num_videos_per_prompt"),
        (1, [2, 2], dict(latents=torch.zeros(1, 4, 2, SIZE // 8, SIZE // 8)), "latents must have shape"),
    ],
)
def test_batch_refusals(pipe, reference, reference_count, pose_frame_counts, kwargs, message):
    sequences = [make_poses(count, seed=i) for i, count in enumerate(pose_frame_counts)]
    with pytest.raises(ValueError, match=message):
        run(pipe, [reference] * reference_count, sequences, **kwargs)


# ------------------------------------------------------------------ offload


def _on_cpu_execution_device(pipe):
    """accelerate (1.15, torch 2.13) turns parameters into plain tensors when the execution device is
    spelled "cpu:0", which `enable_sequential_cpu_offload(device="cpu")` does; "cpu" works."""
    for component in pipe.components.values():
        if isinstance(component, torch.nn.Module):
            for module in component.modules():
                hook = getattr(module, "_hf_hook", None)
                if getattr(hook, "execution_device", None) is not None:
                    hook.execution_device = torch.device("cpu")


@pytest.mark.parametrize("offload", ["model", "sequential"])
def test_cpu_offload_equals_no_offload(fresh, reference, poses, default_video, offload):
    if offload == "model":
        fresh.enable_model_cpu_offload(device="cpu")
    else:
        fresh.enable_sequential_cpu_offload(device="cpu")
        _on_cpu_execution_device(fresh)
        assert next(fresh.unet.parameters()).device.type == "meta"  # weights load per module, per call
    for _ in range(2):  # the hooks are re-armed after a call (maybe_free_model_hooks)
        np.testing.assert_array_equal(run(fresh, reference, poses), default_video)
    fresh.enable_attention_slicing(1)  # an attention backend on top of offload
    np.testing.assert_allclose(run(fresh, reference, poses), default_video, atol=BACKEND_TOLERANCE, rtol=0)
