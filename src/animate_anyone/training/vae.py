"""The VAE stage (`stage: vae`): train the autoencoder that stages 1 and 2 then use frozen (DESIGN §6).

A diffusers `AutoencoderKL` (SD's architecture at the widths of `model.vae_channels`) learns to
reconstruct random crops of single dataset frames: loss = mean |x - decode(z)| per pixel +
`training.kl_weight` x KL(q(z|x) || N(0, I)) per latent element, z sampled from the posterior.
Everything else is the stage trainer's (accelerate, exact resume, checkpoints, EMA).

Each checkpoint holds `vae/`, a `save_pretrained` folder for `model.vae_path`, whose `scaling_factor`
is 1 / std of posterior samples of fixed training frames, so the diffusion stages see latents of unit
variance (SD's 0.18215 was found the same way).

`training.vae_decoder_only` fine-tunes the decoder of the VAE at `model.vae_path` with its encoder
frozen (as SD's ft-MSE VAE was made): the latent space, and so the `scaling_factor` and every model
trained on those latents, stays the same; only the reconstructions get better.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from diffusers import AutoencoderKL

from animate_anyone.data.dataset import (
    AnimationDataset,
    crop_resize,
    load_dataset_entries,
    random_crop_box,
    to_tensor,
)
from animate_anyone.data.video_io import read_video_frames
from animate_anyone.training.initialisation import from_pretrained_folder, new_vae
from animate_anyone.training.train import FIXED_LOSS_OFFSET, Trainer, step_generator

VAE_FOLDER = "vae"
SCALING_SAMPLES = 32  # fixed training frames that set `scaling_factor`


class VideoFrames(AnimationDataset):
    """One random frame of a video, cropped like the other stages' frames: `image` (3, H, W) in [-1, 1]."""

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if index < 0:
            raise IndexError(f"negative sample index {index}")
        entry = self.entry_of(index)
        rng = np.random.default_rng([self.seed, index])
        frame = read_video_frames(entry.video, indices=[int(rng.integers(entry.num_frames))])[0]
        box = random_crop_box((frame.shape[1], frame.shape[0]), self.output_size, self.crop_scale_min, rng)
        return {"image": to_tensor(crop_resize(frame, box, self.output_size)) * 2 - 1}


class AutoencoderTrainingModel(torch.nn.Module):
    """The VAE behind one `forward` (what accelerate prepares: DDP syncs what a forward call used)."""

    def __init__(self, vae: AutoencoderKL):
        super().__init__()
        self.vae = vae

    def enable_gradient_checkpointing(self) -> None:
        self.vae.enable_gradient_checkpointing()

    def forward(self, images: torch.Tensor, kl_weight: float, generator: torch.Generator) -> torch.Tensor:
        """L1 reconstruction per pixel + `kl_weight` x KL per latent element, of images (B, 3, H, W) in [-1, 1]."""
        posterior = self.vae.encode(images).latent_dist
        reconstruction = self.vae.decode(posterior.sample(generator=generator)).sample
        l1 = (reconstruction.float() - images.float()).abs().mean()
        kl = posterior.kl().mean() / posterior.mean[0].numel()  # kl(): sum over (C, h, w) per sample
        return l1 + kl_weight * kl


@torch.no_grad()
def latent_scaling_factor(vae: AutoencoderKL, images: torch.Tensor, generator: torch.Generator) -> float:
    """1 / std of posterior samples of `images` (B, 3, H, W): latents x this have unit variance."""
    latents = vae.encode(images).latent_dist.sample(generator=generator)
    return float(1 / latents.float().std())


class VaeTrainer(Trainer):
    """The stage trainer over an `AutoencoderKL` and single frames."""

    def build(self, components: dict | None) -> torch.nn.Module:
        """The VAE: `components["vae"]`, else `model.vae_path` (fine-tuning), else new from `model.vae_channels`."""
        config = self.config
        self.dataset = VideoFrames(load_dataset_entries(config.data.root), config.data.width, config.data.height,
                                   seed=config.seed, crop_scale_min=config.data.crop_scale_min)
        if components is not None:
            vae = components["vae"]
        elif config.model.vae_path is not None:
            vae = from_pretrained_folder(AutoencoderKL, Path(config.model.vae_path), "VAE")
        else:
            torch.manual_seed(config.model.seed)
            vae = new_vae(config.model)
        vae.requires_grad_(True)
        if config.training.vae_decoder_only:
            vae.encoder.requires_grad_(False)
            vae.quant_conv.requires_grad_(False)
        return AutoencoderTrainingModel(vae)

    @property
    def vae(self) -> AutoencoderKL:
        return self.unwrapped.vae

    def compute_loss(self, batch: dict[str, torch.Tensor], micro_step: int) -> torch.Tensor:
        """The loss of one micro-batch; its posterior samples are those of `micro_step`."""
        generator = step_generator(self.config.seed, micro_step, self.accelerator.process_index, self.device)
        with self.accelerator.autocast():
            return self.model(batch["image"].to(self.device), self.config.training.kl_weight, generator)

    def fixed_images(self, count: int) -> torch.Tensor:
        """`count` fixed training frames (B, 3, H, W), the same in every run and checkpoint."""
        samples = [self.dataset[FIXED_LOSS_OFFSET + i] for i in range(count)]
        return torch.stack([sample["image"] for sample in samples]).to(self.device)

    def save_weights(self, output_dir: Path) -> None:
        """`vae/` (save_pretrained) with the inference weights and their `scaling_factor`."""
        def save() -> None:
            vae = self.vae
            if not self.config.training.vae_decoder_only:  # a frozen encoder keeps its latents' scale
                generator = step_generator(self.config.seed, FIXED_LOSS_OFFSET, 0, self.device)
                vae.register_to_config(scaling_factor=latent_scaling_factor(vae, self.fixed_images(SCALING_SAMPLES),
                                                                            generator))
            vae.save_pretrained(output_dir / VAE_FOLDER, safe_serialization=True)

        self.with_inference_weights(save)

    @torch.no_grad()
    def validate(self) -> None:
        """Log fixed frames over their reconstructions (posterior mean) to TensorBoard and a PNG."""
        from animate_anyone.data.video_io import save_image

        images = self.fixed_images(4)

        def reconstruct() -> torch.Tensor:
            vae = self.vae
            return vae.decode(vae.encode(images).latent_dist.mean).sample

        with self.accelerator.autocast():
            reconstruction = self.with_inference_weights(reconstruct)
        grid = torch.cat([torch.cat(list(images), 2), torch.cat(list(reconstruction.float()), 2)], 1)  # (3, 2H, 4W)
        sheet = ((grid.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).cpu().numpy()
        folder = self.output_dir / "validation"
        folder.mkdir(parents=True, exist_ok=True)
        save_image(folder / f"step-{self.step:07d}.png", sheet)
        writer = self.accelerator.get_tracker("tensorboard", unwrap=True)
        writer.add_image("validation/frames|reconstructions", sheet, self.step, dataformats="HWC")
