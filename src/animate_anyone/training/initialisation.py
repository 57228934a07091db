"""Initial weights for training: tiny from scratch, an SD-format base, released checkpoints, or a pipeline folder."""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from transformers import CLIPVisionModelWithProjection

from animate_anyone.errors import InputError
from animate_anyone.models.builders import denoising_unet_from_2d, zero_motion_outputs
from animate_anyone.models.pose_guider import PoseGuider
from animate_anyone.pipelines.schedulers import scheduler_for_animate_anyone
from animate_anyone.training.config import ModelConfig


def from_pretrained_folder(cls, path: Path, what: str):
    """`cls.from_pretrained(path)`; a missing or unloadable folder is an `InputError` naming `what`."""
    if not path.is_dir():
        raise InputError(f"{what} folder not found: {path}")
    try:
        return cls.from_pretrained(path)
    except (OSError, ValueError) as error:
        raise InputError(f"cannot load the {what} from {path}: {str(error).splitlines()[0]}") from None


def new_vae(config: ModelConfig) -> AutoencoderKL:
    """A VAE from scratch (`model.vae_channels`, `vae_layers_per_block`), from the global seed."""
    from animate_anyone.testing import tiny_vae

    return tiny_vae(config.vae_channels, config.vae_layers_per_block)


def _new_pose_guider(unet2d: UNet2DConditionModel, config: ModelConfig) -> PoseGuider:
    torch.manual_seed(config.seed)
    return PoseGuider(conditioning_embedding_channels=unet2d.config.block_out_channels[0],
                      block_out_channels=tuple(config.pose_guider_channels))


def _from_unet2d(unet2d: UNet2DConditionModel, config: ModelConfig) -> dict:
    """ReferenceNet and denoising UNet both start as copies of `unet2d` (the paper's initialisation);
    the denoising UNet gets identity (zero `proj_out`) motion modules; a new zero-output Pose Guider."""
    reference_net = UNet2DConditionModel.from_config(unet2d.config)
    reference_net.load_state_dict(unet2d.state_dict())
    unet = denoising_unet_from_2d(unet2d, motion_max_seq_length=config.motion_max_seq_length)
    return dict(reference_net=reference_net, unet=unet, pose_guider=_new_pose_guider(unet2d, config))


def _tiny(config: ModelConfig) -> dict:
    from animate_anyone.testing import tiny_image_encoder, tiny_unet2d_config

    torch.manual_seed(config.seed)
    unet2d = UNet2DConditionModel(**tiny_unet2d_config(config.unet_channels))
    vae, image_encoder = new_vae(config), tiny_image_encoder()
    return dict(vae=vae, image_encoder=image_encoder, **_from_unet2d(unet2d, config))


def _sd(config: ModelConfig) -> dict:
    base = Path(config.path)
    unet2d = from_pretrained_folder(UNet2DConditionModel, base / "unet", "UNet")
    components = _from_unet2d(unet2d, config)
    if config.vae_path is None:
        components["vae"] = from_pretrained_folder(AutoencoderKL, base / "vae", "VAE")
    if config.image_encoder_path is None:
        components["image_encoder"] = from_pretrained_folder(CLIPVisionModelWithProjection, base / "image_encoder",
                                                       "image encoder")
    return components


def _moore(config: ModelConfig) -> dict:
    from animate_anyone.convert import load_moore_pipeline

    pipeline = load_moore_pipeline(config.path, config.base_path, vae_dir=config.vae_path,
                                   image_encoder_dir=config.image_encoder_path, flavour=config.moore_flavour)
    return dict(pipeline.components)


def _pipeline(config: ModelConfig) -> dict:
    from animate_anyone.pipelines.loading import load_pipeline

    pipeline = load_pipeline(config.path, torch.device("cpu"), torch.float32)
    return dict(pipeline.components)


_SOURCES = {"tiny": _tiny, "sd": _sd, "moore": _moore, "pipeline": _pipeline}


def load_components(config: ModelConfig) -> dict:
    """Pipeline components (fp32, CPU) to start training from, as `config` says."""
    components = _SOURCES[config.source](config)
    if config.vae_path is not None:
        components["vae"] = from_pretrained_folder(AutoencoderKL, Path(config.vae_path), "VAE")
    if config.image_encoder_path is not None:
        components["image_encoder"] = from_pretrained_folder(CLIPVisionModelWithProjection, Path(config.image_encoder_path),
                                                       "image encoder")
    if config.motion_module_path is not None:
        from animate_anyone.convert import load_animatediff_motion_modules

        load_animatediff_motion_modules(components["unet"], config.motion_module_path)
    if config.reset_motion_modules:
        zero_motion_outputs(components["unet"])
    if not config.use_reference_net:
        components["reference_net"] = None
    elif components["reference_net"] is None:
        raise InputError(f"{config.path} has no ReferenceNet (a no-ReferenceNet ablation): "
                         "set model.use_reference_net=false")
    components["scheduler"] = scheduler_for_animate_anyone()
    pose_factor = components["pose_guider"].downscale_factor
    vae_factor = 2 ** (len(components["vae"].config.block_out_channels) - 1)
    if pose_factor != vae_factor:
        raise InputError(f"model.pose_guider_channels give a {pose_factor}x Pose Guider; the VAE downscales "
                         f"{vae_factor}x (use {vae_factor.bit_length()} channel entries)")
    return components
