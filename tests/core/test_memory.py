"""Memory levers that must not change a number: chunked VAE decoding, loading a folder tensor by tensor
into fresh memory, writing a pipeline folder one component at a time (their peaks: benchmarks/bench_memory.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from core_helpers import SIZE, generate, make_poses
from diffusers import DiffusionPipeline
from safetensors import safe_open

from animate_anyone.convert import write_pipeline_folder
from animate_anyone.models.pose_guider import PoseGuider
from animate_anyone.pipelines.pipeline_animate_anyone import AnimateAnyonePipeline
from animate_anyone.testing import tiny_components, tiny_pipeline

MODELS = ("vae", "image_encoder", "reference_net", "unet", "pose_guider")


def test_chunked_decode_equals_decoding_every_frame_at_once(pipe):
    latents = torch.randn(2, 4, 5, SIZE // 8, SIZE // 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        whole = [(pipe.vae.decode(video.transpose(0, 1) / pipe.vae.config.scaling_factor).sample / 2 + 0.5).clamp(0, 1)
                 for video in latents]
        for chunk in (1, 2, 5, 8):
            decoded = pipe.decode_latents(latents, decode_chunk_size=chunk)
            assert decoded.shape == (2, 5, 3, SIZE, SIZE)
            torch.testing.assert_close(decoded, torch.stack(whole), atol=1e-5, rtol=0)  # batch-size kernels


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("saved") / "pipe"
    tiny_pipeline(seed=0).save_pretrained(folder)
    return folder


@pytest.mark.parametrize("dtype", [None, torch.float32, torch.bfloat16])
def test_loading_reads_fresh_aligned_tensors_equal_to_diffusers_loading(saved, dtype):
    options = {} if dtype is None else {"dtype": dtype}
    ours = AnimateAnyonePipeline.from_pretrained(saved, **options)
    theirs = DiffusionPipeline.from_pretrained.__func__(AnimateAnyonePipeline, saved, **options)  # diffusers' own
    for name in MODELS:
        mine, other = getattr(ours, name), getattr(theirs, name)
        assert not mine.training
        for (key, tensor), (_, expected) in zip(mine.state_dict().items(), other.state_dict().items(), strict=True):
            assert tensor.dtype == expected.dtype and torch.equal(tensor, expected), (name, key)
            assert tensor.data_ptr() % 64 == 0, (name, key)  # PyTorch's allocator, not an offset in the file


def test_loaded_pipeline_generates_what_the_saved_one_did(saved, reference):
    poses = make_poses(3)
    expected = generate(tiny_pipeline(seed=0), reference, poses)
    loaded = AnimateAnyonePipeline.from_pretrained(saved)
    loaded.set_progress_bar_config(disable=True)
    np.testing.assert_array_equal(generate(loaded, reference, poses), expected)


def test_folder_written_component_by_component_is_the_saved_pipeline(tmp_path, reference):
    components = tiny_components(seed=0)
    AnimateAnyonePipeline(**tiny_components(seed=0)).save_pretrained(tmp_path / "whole")
    write_pipeline_folder(components.items(), tmp_path / "streamed")
    assert all(parameter.is_meta for name in MODELS for parameter in components[name].parameters())  # let go
    index = {folder: json.loads((tmp_path / folder / "model_index.json").read_text()) for folder in ("whole", "streamed")}
    for values in index.values():
        values.pop("_name_or_path", None)
    assert index["streamed"] == index["whole"]
    poses = make_poses(2)
    videos = []
    for folder in ("whole", "streamed"):
        loaded = AnimateAnyonePipeline.from_pretrained(tmp_path / folder)
        loaded.set_progress_bar_config(disable=True)
        videos.append(generate(loaded, reference, poses))
    np.testing.assert_array_equal(*videos)


def test_written_folder_takes_the_dtype_and_leaves_no_folder_on_failure(tmp_path):
    wrong_guider = PoseGuider(conditioning_embedding_channels=32, block_out_channels=(8, 16, 16))  # 4x, VAE 8x
    components = dict(tiny_components(seed=0), pose_guider=wrong_guider)  # refused after every component is written
    with pytest.raises(ValueError, match="pose guider downscales by 4"):
        write_pipeline_folder(components.items(), tmp_path / "broken")
    assert list(tmp_path.iterdir()) == []
    write_pipeline_folder(tiny_components(seed=0).items(), tmp_path / "bf16", dtype=torch.bfloat16)
    loaded = AnimateAnyonePipeline.from_pretrained(tmp_path / "bf16", dtype=torch.bfloat16)
    assert {getattr(loaded, name).dtype for name in MODELS} == {torch.bfloat16}
    with safe_open(str(tmp_path / "bf16" / "unet" / "diffusion_pytorch_model.safetensors"), "pt") as file:
        assert file.get_tensor("conv_in.weight").dtype == torch.bfloat16


def hooks_of(pipeline) -> dict:
    return {name: getattr(pipeline, name)._hf_hook for name in ("image_encoder", "reference_net", "unet", "vae")}


def test_weights_on_demand_give_the_same_video_holding_one_model_at_a_time(saved, reference):
    poses = make_poses(5)
    expected = generate(AnimateAnyonePipeline.from_pretrained(saved, dtype=torch.float32), reference, poses)
    pipe = AnimateAnyonePipeline.from_pretrained(saved, dtype=torch.float32, weights_on_demand=True)
    pipe.set_progress_bar_config(disable=True)
    assert all(tensor.is_meta for name in ("image_encoder", "reference_net", "unet", "vae")
               for tensor in getattr(pipe, name).state_dict().values())  # nothing read yet
    assert not any(tensor.is_meta for tensor in pipe.pose_guider.state_dict().values())  # runs per window: resident
    seen = []
    for name, model in [("image_encoder", pipe.image_encoder), ("reference_net", pipe.reference_net),
                        ("unet", pipe.unet)]:
        model.register_forward_hook(lambda *_, name=name: seen.append(
            {other for other, hook in hooks_of(pipe).items() if hook.loaded}))
    np.testing.assert_array_equal(generate(pipe, reference, poses), expected)
    # while each model ran, the ones before it in model_cpu_offload_seq had let their weights go
    assert seen == [{"image_encoder"}, {"reference_net", "vae"}, {"unet", "vae"}, {"unet", "vae"}]
    assert {name for name, hook in hooks_of(pipe).items() if hook.loaded} == {"vae"}
    windows = dict(context_frames=3, context_overlap=1)  # the UNet is read once per call, not per window
    np.testing.assert_array_equal(generate(pipe, reference, poses, **windows),
                                  generate(AnimateAnyonePipeline.from_pretrained(saved), reference, poses, **windows))
    assert {name: hook.loads for name, hook in hooks_of(pipe).items()} == {
        "image_encoder": 2, "reference_net": 2, "unet": 2, "vae": 1}


def test_weights_on_demand_take_the_channels_last_layout(saved, reference):
    from animate_anyone.runtime import use_channels_last

    pipe = AnimateAnyonePipeline.from_pretrained(saved, dtype=torch.float32, weights_on_demand=True)
    pipe.set_progress_bar_config(disable=True)
    use_channels_last(pipe)
    layouts = []
    pipe.unet.register_forward_hook(lambda module, *_: layouts.append(
        module.conv_in.weight.is_contiguous(memory_format=torch.channels_last)))
    generate(pipe, reference, make_poses(2))
    assert layouts and all(layouts)


def test_weights_on_demand_need_a_folder_and_a_dtype(saved):
    from animate_anyone.errors import InputError
    from animate_anyone.pipelines.loading import load_pipeline

    with pytest.raises(ValueError, match="needs a local pipeline folder and a dtype"):
        AnimateAnyonePipeline.from_pretrained(saved, weights_on_demand=True)
    with pytest.raises(InputError, match="read a model folder on the CPU"):
        load_pipeline("tiny-random", torch.device("cpu"), torch.float32, weights_on_demand=True)


def test_a_folder_is_rewritten_one_model_at_a_time(saved, tmp_path, reference):
    from animate_anyone.pipelines.folder_offload import components_one_at_a_time

    pipe = AnimateAnyonePipeline.from_pretrained(saved, dtype=torch.float32, weights_on_demand=True)
    held = []

    def watched():
        for name, component in components_one_at_a_time(pipe):
            held.append({other for other in MODELS if other != "pose_guider" and not any(
                tensor.is_meta for tensor in getattr(pipe, other).state_dict().values())})
            yield name, component

    write_pipeline_folder(watched(), tmp_path / "copy")
    assert all(len(models) <= 1 for models in held) and set().union(*held) == set(MODELS) - {"pose_guider"}
    poses = make_poses(2)
    np.testing.assert_array_equal(
        generate(AnimateAnyonePipeline.from_pretrained(tmp_path / "copy"), reference, poses),
        generate(AnimateAnyonePipeline.from_pretrained(saved), reference, poses))
