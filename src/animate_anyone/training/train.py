"""One trainer for both stages (DESIGN §5), on `accelerate`: one CPU process to DDP/DeepSpeed on many GPUs.
(`training.vae.VaeTrainer` reuses it for the VAE stage of our own tiny model; `training.run.train`
picks the trainer of a config's stage.)

Reproducible: every sample is a function of (seed, sample index) (`data.dataset`), and the noise,
timesteps, VAE samples and condition dropout of micro-step m on process p come from a generator
seeded with (seed, m, p). With the model, optimizer, LR-scheduler and EMA states restored by
`accelerator.load_state`, a resumed run therefore continues bit-for-bit.

Frozen modules (VAE, image encoder; in stage 2 also ReferenceNet and Pose Guider) stay fp32 and run
under autocast, so the `pipeline/` folder saved with every checkpoint is exactly what was trained.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator, DistributedDataParallelKwargs
from accelerate.utils import ProjectConfiguration
from diffusers.optimization import get_scheduler
from diffusers.training_utils import EMAModel
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from animate_anyone.data.dataset import (
    AnimationDataset,
    ReferenceClips,
    ReferenceTargetPairs,
    ResumableSampler,
    load_dataset_entries,
)
from animate_anyone.errors import InputError
from animate_anyone.training import checkpointing
from animate_anyone.training.config import TrainConfig, save_config
from animate_anyone.training.initialisation import load_components
from animate_anyone.training.model import AnimateAnyoneTrainingModel
from animate_anyone.training.objective import diffusion_loss, min_snr_weights, sample_noise, training_noise_scheduler

PROGRESS_FILE = "progress.json"
FIXED_LOSS_OFFSET = 10**9  # sample and micro-step indices of `fixed_loss`, far from any training step


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite; the run stopped without saving over the last good checkpoint."""


@dataclass
class TrainResult:
    output_dir: Path
    step: int
    losses: list[float] = field(default_factory=list)  # per optimizer step of this run, mean over processes
    last_checkpoint: Path | None = None
    is_main_process: bool = True


# ----------------------------------------------------------------------------- building blocks
def build_dataset(config: TrainConfig, clip_size: int) -> AnimationDataset:
    data = config.data
    entries = load_dataset_entries(data.root)
    common = dict(width=data.width, height=data.height, seed=config.seed, clip_size=clip_size,
                  crop_scale_min=data.crop_scale_min)
    if config.stage == 1:
        return ReferenceTargetPairs(entries, min_gap=data.reference_min_gap, **common)
    return ReferenceClips(entries, num_frames=data.num_frames, sample_rate=data.sample_rate, **common)


def build_optimizer(config: TrainConfig, parameters: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
    training = config.training
    optimizer_class = torch.optim.AdamW
    if training.use_8bit_adam:
        try:
            import bitsandbytes
        except ImportError:
            raise InputError("training.use_8bit_adam needs bitsandbytes (pip install bitsandbytes, CUDA only)") from None
        optimizer_class = bitsandbytes.optim.AdamW8bit
    return optimizer_class(parameters, lr=training.learning_rate, betas=(training.adam_beta1, training.adam_beta2),
                           weight_decay=training.weight_decay, eps=training.adam_epsilon)


def step_generator(seed: int, micro_step: int, process_index: int, device: torch.device) -> torch.Generator:
    """The generator of one micro-step on one process (independent of any global RNG state)."""
    state = int(np.random.SeedSequence([seed, micro_step, process_index]).generate_state(1)[0])
    return torch.Generator(device=device).manual_seed(state)


def _flat_hparams(config: TrainConfig) -> dict:
    """Scalars for TensorBoard's hparams (lists and None as strings)."""
    from omegaconf import OmegaConf

    flat = {}

    def walk(prefix: str, node) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                walk(f"{prefix}{key}.", value)
            else:
                flat[f"{prefix}{key}"] = value if isinstance(value, (int, float, str, bool)) else str(value)

    walk("", OmegaConf.to_container(OmegaConf.structured(config)))
    return flat


class Trainer:
    """Holds the run's objects; `fit()` trains to `training.max_steps`."""

    def __init__(self, config: TrainConfig, resume: str | None = None, components: dict | None = None):
        """`components`: pipeline components to start from instead of loading `config.model` (benchmarks).

        Subclasses train other modules by overriding `build`, `compute_loss`, `save_weights` and `validate`."""
        self.config = config
        self.output_dir = Path(config.output_dir)
        training = config.training
        ddp_kwargs = DistributedDataParallelKwargs(find_unused_parameters=config.stage == 1)  # dropped samples skip ReferenceNet
        self.accelerator = Accelerator(
            gradient_accumulation_steps=training.gradient_accumulation_steps,
            mixed_precision=training.mixed_precision,
            log_with="tensorboard",
            project_config=ProjectConfiguration(project_dir=str(self.output_dir),
                                                logging_dir=str(self.output_dir / "logs")),
            kwargs_handlers=[ddp_kwargs],
        )
        self.resume_from = self._check_output_dir(resume)
        self.device = self.accelerator.device

        model = self.build(components).train()  # also sets self.dataset
        if training.gradient_checkpointing:
            model.enable_gradient_checkpointing()
        self.trainable = [p for p in model.parameters() if p.requires_grad]

        # Optimisation
        optimizer = build_optimizer(config, self.trainable)
        processes = self.accelerator.num_processes
        lr_scheduler = get_scheduler(training.lr_scheduler, optimizer,
                                     num_warmup_steps=training.lr_warmup_steps * processes,
                                     num_training_steps=training.max_steps * processes)
        deepspeed = self.accelerator.state.deepspeed_plugin
        if deepspeed is not None:  # no prepared dataloader to infer it from
            deepspeed.deepspeed_config["train_micro_batch_size_per_gpu"] = training.batch_size
        self.model, self.optimizer, self.lr_scheduler = self.accelerator.prepare(model, optimizer, lr_scheduler)
        self.ema = None
        if training.use_ema:
            self.ema = EMAModel(self.trainable, decay=training.ema_decay)
            self.ema.to(self.device)
            self.accelerator.register_for_checkpointing(self.ema)
        self.accelerator.register_save_state_pre_hook(self._save_hook)
        self.step = 0

    def build(self, components: dict | None) -> torch.nn.Module:
        """The module to train (ReferenceNet + UNet + Pose Guider), frozen encoders fp32 on the device, the data."""
        config = self.config
        if config.stage not in (1, 2):
            raise InputError(f"Trainer trains stages 1 and 2; stage {config.stage} is VaeTrainer's (train() picks it)")
        components = load_components(config.model) if components is None else components
        self.vae = components["vae"].requires_grad_(False).eval().to(self.device)
        self.image_encoder = components["image_encoder"].requires_grad_(False).eval().to(self.device)
        self.pipeline_scheduler = components["scheduler"]
        self.noise_scheduler = training_noise_scheduler()
        self.dataset = build_dataset(config, self.image_encoder.config.image_size)
        return AnimateAnyoneTrainingModel(components["reference_net"], components["unet"],
                                          components["pose_guider"], config.stage)

    # ------------------------------------------------------------------ run folder
    def _check_output_dir(self, resume: str | None) -> Path | None:
        resume_from = checkpointing.resolve_resume(self.output_dir, resume)
        if resume_from is None and checkpointing.list_checkpoints(self.output_dir):
            raise InputError(f"{self.output_dir} already has checkpoints: pass --resume latest to continue, "
                             "or choose a new output_dir")
        if resume == "latest" and resume_from is None:
            self.accelerator.print(f"no checkpoint in {self.output_dir} yet: starting a new run")
        return resume_from

    @property
    def unwrapped(self) -> torch.nn.Module:
        return self.accelerator.unwrap_model(self.model)

    # ------------------------------------------------------------------ pipeline (save, validate)
    def pipeline(self):
        """An `AnimateAnyonePipeline` over the trained modules (EMA weights swapped in by the caller).

        Building it installs inference processors on ReferenceNet/UNet; `_restore_training` puts the
        training bank's back."""
        from animate_anyone.pipelines.pipeline_animate_anyone import AnimateAnyonePipeline

        model = self.unwrapped
        pipeline = AnimateAnyonePipeline(vae=self.vae, image_encoder=self.image_encoder,
                                         reference_net=model.reference_net, unet=model.unet,
                                         pose_guider=model.pose_guider, scheduler=self.pipeline_scheduler)
        pipeline.set_progress_bar_config(disable=True)
        return pipeline

    def with_inference_weights(self, action):
        """Run `action()` with the EMA weights (if any) in the trained module; restore after."""
        if self.ema is not None:
            self.ema.store(self.trainable)
            self.ema.copy_to(self.trainable)
        try:
            return action()
        finally:
            if self.ema is not None:
                self.ema.restore(self.trainable)

    def _with_pipeline(self, action):
        """Run `action(pipeline)` with inference weights and processors; training processors restored after."""
        try:
            return self.with_inference_weights(lambda: action(self.pipeline()))
        finally:
            self.unwrapped.install_reference_attention()

    def save_weights(self, output_dir: Path) -> None:
        """The checkpoint's inference weights: `pipeline/` (save_pretrained)."""
        self._with_pipeline(lambda pipeline: pipeline.save_pretrained(output_dir / "pipeline", safe_serialization=True))

    def _save_hook(self, models, weights, output_dir) -> None:
        """accelerate save-state pre-hook: write the inference weights, the config and the step."""
        if not self.accelerator.is_main_process:
            return
        output_dir = Path(output_dir)
        self.save_weights(output_dir)
        save_config(self.config, output_dir / "config.yaml")
        (output_dir / PROGRESS_FILE).write_text(json.dumps({"step": self.step, "stage": self.config.stage}))

    def save_checkpoint(self) -> Path:
        accelerator = self.accelerator
        temporary = checkpointing.temporary_checkpoint_path(self.output_dir, self.step)
        accelerator.save_state(str(temporary))
        accelerator.wait_for_everyone()
        final = None
        if accelerator.is_main_process:
            final = checkpointing.finish_checkpoint(self.output_dir, self.step)
            checkpointing.rotate_checkpoints(self.output_dir, self.config.checkpointing.total_limit)
        accelerator.wait_for_everyone()
        return final or checkpointing.checkpoint_path(self.output_dir, self.step)

    def load_checkpoint(self, path: Path) -> None:
        progress = json.loads((path / PROGRESS_FILE).read_text())
        if progress.get("stage") != self.config.stage:
            raise InputError(f"{path} is a stage-{progress.get('stage')} checkpoint; this run is stage "
                             f"{self.config.stage} (start stage 2 from model.source=pipeline, model.path="
                             f"{path / 'pipeline'})")
        self.accelerator.load_state(str(path))
        self.step = int(progress["step"])
        self.accelerator.print(f"resumed from {path} at step {self.step}")

    def validate(self) -> None:
        """Generate the validation sample; log reference | pose | generated to TensorBoard and an mp4."""
        from animate_anyone.data.contact_sheet import contact_sheet
        from animate_anyone.data.video_io import write_video
        from animate_anyone.training.validation import generate, side_by_side, validation_sample

        config, validation = self.config, self.config.validation
        entry = self.dataset.entries[min(validation.video_index, len(self.dataset.entries) - 1)]
        stride = config.data.sample_rate if config.stage == 2 else 1
        first_pose = config.data.reference_min_gap if config.stage == 1 else 0
        sample = validation_sample(entry, validation.num_frames, stride, first_pose,
                                   (config.data.width, config.data.height))
        with self.accelerator.autocast():
            frames = self._with_pipeline(lambda pipeline: generate(
                pipeline, sample, validation.num_inference_steps, validation.guidance_scale, config.seed))
        folder = self.output_dir / "validation"
        folder.mkdir(parents=True, exist_ok=True)
        write_video(folder / f"step-{self.step:07d}.mp4", side_by_side(sample, frames), fps=8)
        from PIL import Image

        sheet = contact_sheet(sample.reference, sample.poses, [Image.fromarray(f) for f in frames])
        writer = self.accelerator.get_tracker("tensorboard", unwrap=True)
        writer.add_image("validation/reference|pose|generated", np.asarray(sheet), self.step, dataformats="HWC")

    # ------------------------------------------------------------------ one step
    @torch.no_grad()
    def encode_batch(self, batch: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
        """Pixels -> latents and CLIP embeddings with the frozen encoders."""
        target = batch["target"].to(self.device)  # (B, 3, F, H, W)
        batch_size, _, frames = target.shape[:3]
        scale = self.vae.config.scaling_factor
        with self.accelerator.autocast():
            posterior = self.vae.encode(target.transpose(1, 2).flatten(0, 1)).latent_dist  # (B*F, ...)
            latents = posterior.sample(generator=generator).float() * scale
            reference = self.vae.encode(batch["reference"].to(self.device)).latent_dist.mean.float() * scale
            clip = self.image_encoder(batch["clip"].to(self.device)).image_embeds.float()[:, None]  # (B, 1, D)
        latents = latents.unflatten(0, (batch_size, frames)).transpose(1, 2)  # (B, C, F, h, w)
        return {"latents": latents, "reference": reference, "clip": clip, "pose": batch["pose"].to(self.device)}

    def compute_loss(self, batch: dict[str, torch.Tensor], micro_step: int) -> torch.Tensor:
        """The weighted v-prediction loss of one micro-batch; its randomness is that of `micro_step`."""
        training = self.config.training
        generator = step_generator(self.config.seed, micro_step, self.accelerator.process_index, self.device)
        inputs = self.encode_batch(batch, generator)
        latents = inputs["latents"]
        batch_size = latents.shape[0]
        drop = torch.rand(batch_size, generator=generator, device=self.device) < training.condition_drop_rate
        clip = torch.where(drop[:, None, None], torch.zeros_like(inputs["clip"]), inputs["clip"])
        noise = sample_noise(latents, training.noise_offset, generator)
        timesteps = torch.randint(0, self.noise_scheduler.config.num_train_timesteps, (batch_size,),
                                  generator=generator, device=self.device)
        noisy = self.noise_scheduler.add_noise(latents, noise, timesteps)
        target = self.noise_scheduler.get_velocity(latents, noise, timesteps)
        weights = None if training.snr_gamma is None else min_snr_weights(self.noise_scheduler, timesteps,
                                                                          training.snr_gamma)
        with self.accelerator.autocast():
            prediction = self.model(noisy, timesteps, inputs["reference"], clip, inputs["pose"], ~drop)
        return diffusion_loss(prediction, target, weights)

    @torch.no_grad()
    def fixed_loss(self, num_batches: int = 4) -> float:
        """Mean loss over fixed samples, noise, timesteps and dropout: comparable between steps and runs."""
        batch_size, first = self.config.training.batch_size, FIXED_LOSS_OFFSET
        losses = []
        for k in range(num_batches):
            indices = range(first + k * batch_size, first + (k + 1) * batch_size)
            batch = torch.utils.data.default_collate([self.dataset[i] for i in indices])
            losses.append(self.compute_loss(batch, first + k).item())
        return float(np.mean(losses))

    def micro_step(self, batch: dict[str, torch.Tensor], micro_step: int) -> torch.Tensor:
        """Forward + backward (+ optimizer step at accumulation boundaries); returns the loss."""
        training = self.config.training
        loss = self.compute_loss(batch, micro_step)
        finite = self.accelerator.gather(torch.isfinite(loss.detach()).reshape(1))
        if not bool(finite.all()):
            raise TrainingDivergedError(
                f"the loss is not finite at step {self.step + 1} (micro-step {micro_step}); stopped. "
                f"The last good checkpoint is kept: {self._last_checkpoint_text()}")
        self.accelerator.backward(loss)
        if self.accelerator.sync_gradients and training.max_grad_norm > 0:
            self.accelerator.clip_grad_norm_(self.trainable, training.max_grad_norm)
        self.optimizer.step()
        self.lr_scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss.detach()

    def _last_checkpoint_text(self) -> str:
        checkpoints = checkpointing.list_checkpoints(self.output_dir)
        return str(checkpoints[-1][1]) if checkpoints else "none was written yet"

    # ------------------------------------------------------------------ the loop
    def fit(self) -> TrainResult:
        config, accelerator = self.config, self.accelerator
        training = config.training
        if self.resume_from is not None:
            self.load_checkpoint(self.resume_from)
        if accelerator.is_main_process:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            save_config(config, self.output_dir / "config.yaml")
        accelerator.init_trackers("train", config=_flat_hparams(config))
        accumulation = training.gradient_accumulation_steps
        sampler = ResumableSampler(training.batch_size, accelerator.process_index, accelerator.num_processes,
                                   start_micro_step=self.step * accumulation)
        loader = DataLoader(self.dataset, batch_size=training.batch_size, sampler=sampler,
                            num_workers=config.data.num_workers, pin_memory=self.device.type == "cuda",
                            persistent_workers=config.data.num_workers > 0)
        result = TrainResult(self.output_dir, self.step, is_main_process=accelerator.is_main_process)
        progress = tqdm(total=training.max_steps, initial=self.step, unit="step", desc=f"stage {config.stage}",
                        disable=not accelerator.is_local_main_process, dynamic_ncols=True)
        batches = iter(loader)
        step_losses = []
        try:
            while self.step < training.max_steps:
                micro_step = self.step * accumulation + len(step_losses)
                with accelerator.accumulate(self.model):
                    loss = self.micro_step(next(batches), micro_step)
                step_losses.append(accelerator.gather(loss.reshape(1)).mean().item())
                if not accelerator.sync_gradients:
                    continue
                if self.ema is not None:
                    self.ema.step(self.trainable)
                self.step += 1
                result.losses.append(float(np.mean(step_losses)))
                step_losses = []
                self._after_step(result, progress)
        finally:
            progress.close()
            accelerator.end_training()
        result.step = self.step
        return result

    def _after_step(self, result: TrainResult, progress: tqdm) -> None:
        config, step = self.config, self.step
        learning_rate = self.lr_scheduler.get_last_lr()[0]
        if step % config.log_every_steps == 0 or step == config.training.max_steps:
            self.accelerator.log({"train/loss": result.losses[-1], "train/lr": learning_rate}, step=step)
        progress.update(1)
        progress.set_postfix(loss=f"{result.losses[-1]:.4f}", lr=f"{learning_rate:.2e}")
        every_validation = config.validation.every_steps
        if every_validation and step % every_validation == 0 and self.accelerator.is_main_process:
            self.validate()
        if step % config.checkpointing.every_steps == 0 or step == config.training.max_steps:
            result.last_checkpoint = self.save_checkpoint()

