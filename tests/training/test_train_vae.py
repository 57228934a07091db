"""The VAE stage: a short run reconstructs better, resumes exactly, and its `vae/` drives stage 1."""

from __future__ import annotations

import pytest
import torch
from diffusers import AutoencoderKL
from safetensors.torch import load_file
from training_helpers import CONFIGS, tiny_config

from animate_anyone.errors import InputError
from animate_anyone.training.config import load_config
from animate_anyone.training.run import train
from animate_anyone.training.train import Trainer
from animate_anyone.training.vae import VAE_FOLDER, VaeTrainer


def vae_config(dataset, output_dir, *overrides: str):
    """configs/tiny128-vae.yaml at 32 px with the toy widths, without validation, in fp32 (accelerate
    keeps one precision per process, and the other tests' trainers use fp32)."""
    return load_config(CONFIGS / "tiny128-vae.yaml", [
        f"data.root={dataset}", f"output_dir={output_dir}", "data.width=32", "data.height=32",
        "training.mixed_precision=no",
        "data.num_workers=0", "model.vae_channels=[16,16,32,32]", "validation.every_steps=0",
        "training.batch_size=4", "training.learning_rate=2e-3", "training.lr_warmup_steps=5", *overrides,
    ])


def test_short_vae_run_reconstructs_better_and_plugs_into_stage1(tiny_dataset, tmp_path):
    trainer = VaeTrainer(vae_config(tiny_dataset, tmp_path / "vae", "training.max_steps=40",
                                    "checkpointing.every_steps=40"))
    before = trainer.fixed_loss()
    result = trainer.fit()
    after = trainer.fixed_loss()
    assert after < 0.6 * before, f"fixed-frame loss {before:.4f} -> {after:.4f}"

    folder = result.last_checkpoint / VAE_FOLDER
    vae = AutoencoderKL.from_pretrained(folder)
    assert vae.config.latent_channels == 4 and len(vae.config.block_out_channels) == 4  # 8x, like SD's
    # scaling_factor = 1 / std of the fixed frames' posterior samples: scaled latents have unit std
    images = trainer.fixed_images(8)
    with torch.no_grad():
        latents = vae.encode(images).latent_dist.mean * vae.config.scaling_factor
    assert 0.5 < float(latents.std()) < 1.5 and vae.config.scaling_factor != 1.0

    stage1 = Trainer(tiny_config(1, tiny_dataset, tmp_path / "stage1", f"model.vae_path={folder}",
                                 "training.max_steps=2", "checkpointing.every_steps=2"))
    assert stage1.vae.config.scaling_factor == vae.config.scaling_factor
    checkpoint = stage1.fit().last_checkpoint
    saved = load_file(checkpoint / "pipeline/vae/diffusion_pytorch_model.safetensors")
    assert all(saved[name].equal(p) for name, p in vae.state_dict().items())


def test_vae_resume_is_exact(tiny_dataset, tmp_path):
    recipe = ("training.max_steps=8", "checkpointing.every_steps=4", "training.batch_size=2",
              "training.gradient_accumulation_steps=2", "training.use_ema=true", "training.ema_decay=0.9")
    straight = train(vae_config(tiny_dataset, tmp_path / "straight", *recipe))
    first_half = vae_config(tiny_dataset, tmp_path / "resumed", *recipe)
    first_half.training.max_steps = 4
    train(first_half)
    resumed = train(vae_config(tiny_dataset, tmp_path / "resumed", *recipe), resume="latest")

    assert resumed.step == 8 and resumed.losses == straight.losses[4:]
    for part in ("model.safetensors", f"{VAE_FOLDER}/diffusion_pytorch_model.safetensors"):
        expected, actual = load_file(straight.last_checkpoint / part), load_file(resumed.last_checkpoint / part)
        assert expected.keys() == actual.keys()
        assert all(expected[key].equal(actual[key]) for key in expected), part


def test_decoder_only_fine_tuning_keeps_the_latent_space(tiny_dataset, tmp_path):
    base = VaeTrainer(vae_config(tiny_dataset, tmp_path / "base", "training.max_steps=2",
                                 "checkpointing.every_steps=2")).fit().last_checkpoint / VAE_FOLDER
    trainer = VaeTrainer(vae_config(tiny_dataset, tmp_path / "decoder", f"model.vae_path={base}",
                                    "training.vae_decoder_only=true", "training.max_steps=20",
                                    "checkpointing.every_steps=20"))
    before = trainer.fixed_loss()
    tuned_folder = trainer.fit().last_checkpoint / VAE_FOLDER
    assert trainer.fixed_loss() < before
    original, tuned = AutoencoderKL.from_pretrained(base), AutoencoderKL.from_pretrained(tuned_folder)
    assert tuned.config.scaling_factor == original.config.scaling_factor
    original_state, tuned_state = original.state_dict(), tuned.state_dict()
    frozen = [key for key in original_state if key.startswith(("encoder.", "quant_conv."))]
    assert frozen and all(tuned_state[key].equal(original_state[key]) for key in frozen)
    assert not tuned_state["decoder.conv_out.weight"].equal(original_state["decoder.conv_out.weight"])


def test_vae_stage_config_errors(tiny_dataset, tmp_path):
    with pytest.raises(InputError, match="stage must be 1, 2 or vae"):
        vae_config(tiny_dataset, tmp_path, "stage=autoencoder")
    with pytest.raises(InputError, match="model.vae_channels"):
        vae_config(tiny_dataset, tmp_path, "model.vae_channels=[16,12]")
    with pytest.raises(InputError, match="training.kl_weight"):
        vae_config(tiny_dataset, tmp_path, "training.kl_weight=-1")
    with pytest.raises(InputError, match="vae_decoder_only fine-tunes an existing VAE"):
        vae_config(tiny_dataset, tmp_path, "training.vae_decoder_only=true")


def test_tiny128_family_fits_the_30_mb_budget_in_fp16():
    from animate_anyone.training.initialisation import load_components

    vae = load_config(CONFIGS / "tiny128-vae.yaml")
    stage1 = load_config(CONFIGS / "tiny128-stage1.yaml", ["model.vae_path=null"])
    stage2 = load_config(CONFIGS / "tiny128-stage2.yaml")
    assert vae.stage == "vae" and (stage1.stage, stage2.stage) == (1, 2)
    assert {(c.data.width, c.data.height) for c in (vae, stage1, stage2)} == {(128, 128)}
    stage1.model.vae_channels, stage1.model.vae_layers_per_block = vae.model.vae_channels, vae.model.vae_layers_per_block
    components = load_components(stage1.model)
    parameters = sum(p.numel() for c in components.values() if isinstance(c, torch.nn.Module) for p in c.parameters())
    assert 5e6 < parameters and 2 * parameters <= 30e6, f"{parameters / 1e6:.2f} M parameters"


def test_the_stage_trainer_refuses_the_vae_stage(tiny_dataset, tmp_path):
    with pytest.raises(InputError, match="VaeTrainer"):
        Trainer(vae_config(tiny_dataset, tmp_path / "run"))
