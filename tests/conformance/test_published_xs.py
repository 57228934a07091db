"""Conformance with the published implementation (Moore-AnimateAnyone a914ef3) at extra-small size.

../shared/reference/published_xs holds random weights in the release layout and the outputs that the
published code computed from them; converted with our `convert` command, our models must reproduce them.
"""

from __future__ import annotations

import json
import pickle
import shutil

import pytest
import torch
from safetensors.torch import load_file

from animate_anyone import AnimateAnyonePipeline
from animate_anyone.cli import main

UNET_TOLERANCE = dict(atol=1e-4, rtol=1e-3)


@pytest.fixture(scope="module")
def fixture_dir(shared_dir):
    return shared_dir / "reference" / "published_xs"


@pytest.fixture(scope="module")
def converted(fixture_dir, tmp_path_factory):
    output = tmp_path_factory.mktemp("converted") / "pipeline"
    weights = fixture_dir / "weights"
    assert main(["convert", "--from", "moore", str(weights), "--base", str(weights / "sd_base"),
                 "--output", str(output)]) == 0
    assert json.loads((output / "generation_defaults.json").read_text()) == {  # what the published models are for
        "width": 512, "height": 768, "num_inference_steps": 8, "guidance_scale": 3.5, "scheduler": "unipc"}
    pipeline = AnimateAnyonePipeline.from_pretrained(output)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def outputs(fixture_dir, name):
    return load_file(fixture_dir / "outputs" / f"{name}.safetensors"), json.loads(
        (fixture_dir / "outputs" / f"{name}.json").read_text())


@pytest.mark.parametrize("name", ["unet_cfg_f8", "unet_f8_t500"])
def test_unet_forward_matches_published(converted, fixture_dir, name):
    tensors, meta = outputs(fixture_dir, name)
    pipe, device = converted, torch.device("cpu")
    with torch.no_grad():
        pose = pipe.encode_pose(tensors["pose_image"][0].transpose(0, 1), device)
        torch.testing.assert_close(pose, tensors["pose_fea"], **UNET_TOLERANCE)
        pipe.write_reference(tensors["ref_latents"], tensors["encoder_hidden_states_cond"])
        for index, (reader, writer) in enumerate(meta["bank_pairs_reader_writer"]):
            if f"bank.{index:02d}" in tensors:  # the published bank is [uncond; cond]; only cond is read
                torch.testing.assert_close(pipe.reference_bank.tokens[writer], tensors[f"bank.{index:02d}"][1:].float(),
                                           atol=1e-2, rtol=1e-2)  # it was stored in fp16
        guided = pipe.predict_noise(tensors["latents"], tensors["timestep"], tensors["encoder_hidden_states_cond"],
                                    pose, guided=meta["cfg"])
    torch.testing.assert_close(guided, tensors["noise_pred"], **UNET_TOLERANCE)
    if meta["cfg"]:
        uncond, cond = guided.chunk(2)
        torch.testing.assert_close(uncond + meta["guidance_scale"] * (cond - uncond), tensors["noise_pred_guided"],
                                   **UNET_TOLERANCE)


def test_pipeline_matches_published(converted, fixture_dir):
    tensors, meta = outputs(fixture_dir, "pipeline_f8")
    height, width = meta["image_hw"]
    generator = torch.Generator().manual_seed(meta["seed"])
    latents = converted(
        tensors["ref_image_uint8"].numpy(), tensors["pose_images_uint8"].numpy(), height=height, width=width,
        num_inference_steps=meta["steps"], guidance_scale=meta["guidance_scale"], generator=generator,
        output_type="latent",
    ).frames
    torch.testing.assert_close(latents, tensors["final_latents"], **UNET_TOLERANCE)
    video = converted(
        tensors["ref_image_uint8"].numpy(), tensors["pose_images_uint8"].numpy(), height=height, width=width,
        num_inference_steps=meta["steps"], guidance_scale=meta["guidance_scale"],
        latents=tensors["initial_latents"], output_type="pt",
    ).frames
    torch.testing.assert_close(video, tensors["video"].transpose(1, 2), atol=2e-3, rtol=0)  # (1, F, 3, H, W)


def test_clip_and_vae_inputs_match_published(converted, fixture_dir):
    tensors, _ = outputs(fixture_dir, "pipeline_f8")
    from PIL import Image

    reference = Image.fromarray(tensors["ref_image_uint8"].numpy())
    with torch.no_grad():
        embeds = converted.encode_reference_clip(reference, torch.device("cpu"))
        latents = converted.encode_reference_latents(reference, 128, 96, torch.device("cpu"))
    torch.testing.assert_close(embeds[:, 0], tensors["image_encoder.output"], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(latents / 0.18215, tensors["vae.encode.mean"], atol=1e-5, rtol=1e-4)


# ------------------------------------------------------------------ bad input


@pytest.fixture
def weights_copy(fixture_dir, tmp_path):
    copy = tmp_path / "weights"
    shutil.copytree(fixture_dir / "weights", copy)
    return copy


class _WritesAFile:
    """A pickle that would create a file when unpickled by an unsafe loader."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _run_convert(weights, tmp_path, capsys):
    capsys.readouterr()
    code = main(["convert", str(weights), "--base", str(weights / "sd_base"), "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    return code, err


def test_convert_refuses_missing_file(weights_copy, tmp_path, capsys):
    (weights_copy / "motion_module.pth").unlink()
    code, err = _run_convert(weights_copy, tmp_path, capsys)
    assert code == 2 and "lacks motion_module.pth" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_convert_refuses_truncated_file(weights_copy, tmp_path, capsys):
    path = weights_copy / "denoising_unet.pth"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    code, err = _run_convert(weights_copy, tmp_path, capsys)
    assert code == 2 and "denoising_unet.pth" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_convert_refuses_other_model_checkpoint(weights_copy, tmp_path, capsys):
    shutil.copy(weights_copy / "reference_unet.pth", weights_copy / "pose_guider.pth")
    code, err = _run_convert(weights_copy, tmp_path, capsys)
    assert code == 2 and "pose_guider.pth" in err and len(err.splitlines()) == 1


def test_convert_lists_mismatched_keys(weights_copy, tmp_path, capsys):
    state = torch.load(weights_copy / "motion_module.pth", weights_only=True)
    state.pop(next(k for k in state if k.endswith("proj_out.weight")))
    state["down_blocks.0.motion_modules.0.temporal_transformer.extra.weight"] = torch.zeros(1)
    torch.save(state, weights_copy / "motion_module.pth")
    code, err = _run_convert(weights_copy, tmp_path, capsys)
    assert code == 2 and "1 missing" in err and "1 unexpected" in err and "proj_out.weight" in err


def test_convert_never_runs_code_from_a_pickle(weights_copy, tmp_path, capsys):
    marker = tmp_path / "pwned"
    with open(weights_copy / "pose_guider.pth", "wb") as file:
        pickle.dump({"conv_in.weight": _WritesAFile(marker)}, file)
    code, err = _run_convert(weights_copy, tmp_path, capsys)
    assert code == 2 and "refusing" in err and "unpickling" in err
    assert not marker.exists()
