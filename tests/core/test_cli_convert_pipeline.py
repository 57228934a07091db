"""`animate-anyone convert --from pipeline`: re-save one of our pipeline folders in another dtype."""

from __future__ import annotations

import torch
from safetensors.torch import load_file

from animate_anyone.cli import main
from animate_anyone.pipelines.loading import generation_defaults, write_generation_defaults
from animate_anyone.testing import tiny_pipeline


def test_convert_pipeline_to_fp16_keeps_every_weight_rounded(tmp_path):
    source = tiny_pipeline(seed=0)
    source.save_pretrained(tmp_path / "fp32")
    assert main(["convert", "--from", "pipeline", str(tmp_path / "fp32"), "--dtype", "fp16",
                 "--output", str(tmp_path / "fp16")]) == 0
    for name in ("vae", "image_encoder", "reference_net", "unet", "pose_guider"):
        (weights,) = (tmp_path / "fp16" / name).glob("*.safetensors")
        expected, got = getattr(source, name).state_dict(), load_file(weights)
        assert expected.keys() == got.keys()
        for key, tensor in expected.items():
            assert got[key].dtype == torch.float16, (name, key)
            assert torch.equal(got[key], tensor.to(torch.float16)), (name, key)


def test_convert_from_a_release_needs_base(tmp_path, capsys):
    assert main(["convert", "--from", "moore", str(tmp_path), "--output", str(tmp_path / "out")]) == 2
    assert "needs --base" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_convert_pipeline_swaps_in_a_decoder_fine_tuned_vae_only(tmp_path, capsys):
    pipeline = tiny_pipeline(seed=0)
    pipeline.save_pretrained(tmp_path / "pipeline")
    tuned = tiny_pipeline(seed=1).vae  # same architecture, other weights
    tuned.register_to_config(scaling_factor=pipeline.vae.config.scaling_factor)
    tuned.save_pretrained(tmp_path / "tuned")
    assert main(["convert", "--from", "pipeline", str(tmp_path / "pipeline"), "--vae", str(tmp_path / "tuned"),
                 "--output", str(tmp_path / "out")]) == 0
    saved = load_file(tmp_path / "out" / "vae" / "diffusion_pytorch_model.safetensors")
    assert all(saved[key].equal(value) for key, value in tuned.state_dict().items())

    tuned.register_to_config(scaling_factor=0.5)
    tuned.save_pretrained(tmp_path / "other")
    capsys.readouterr()
    assert main(["convert", "--from", "pipeline", str(tmp_path / "pipeline"), "--vae", str(tmp_path / "other"),
                 "--output", str(tmp_path / "refused")]) == 2
    assert "latent space differs" in capsys.readouterr().err
    assert not (tmp_path / "refused").exists()


def test_convert_pipeline_keeps_the_folders_generation_defaults(tmp_path):
    tiny_pipeline(seed=0).save_pretrained(tmp_path / "source")
    write_generation_defaults(tmp_path / "source", {"width": 64, "guidance_scale": 1.5})
    assert main(["convert", "--from", "pipeline", str(tmp_path / "source"), "--output", str(tmp_path / "copy")]) == 0
    assert generation_defaults(tmp_path / "copy") == {"width": 64, "height": 768, "num_inference_steps": 25,
                                                      "guidance_scale": 1.5, "scheduler": None}
