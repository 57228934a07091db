"""Training configuration: typed dataclasses per concern, loaded from YAML with `key=value` overrides.

`load_config("configs/stage1.yaml", ["training.max_steps=100"])` merges the YAML and the overrides
onto the dataclass schema (omegaconf structured configs): unknown keys, wrong types and bad values are
`InputError`s naming the key. `save_config` writes the resolved config beside every checkpoint.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Union

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from animate_anyone.errors import InputError

MODEL_SOURCES = ("tiny", "sd", "moore", "pipeline")
MIXED_PRECISION = ("no", "fp16", "bf16")
STAGES = (1, 2, "vae")


@dataclass
class ModelConfig:
    """Where the weights come from and the sizes of parts built from scratch."""

    # tiny: toy-size architecture from scratch (seeded); sd: SD-format base folder (unet/, vae/,
    # image_encoder/: SD image variations), UNets copied into ReferenceNet and denoising UNet;
    # moore: released Animate Anyone .pth files in `path` + SD base in `base_path`;
    # pipeline: a save_pretrained pipeline folder (a stage-1 checkpoint's `pipeline/`, `convert` output)
    source: str = "tiny"
    path: Optional[str] = None
    base_path: Optional[str] = None  # moore only: the SD image-variations folder
    moore_flavour: str = "moore"  # moore (32 motion positions) or musepose (128)
    vae_path: Optional[str] = None  # replaces the source's VAE (a diffusers AutoencoderKL folder)
    image_encoder_path: Optional[str] = None  # replaces the source's CLIP vision model folder
    # stage 2: AnimateDiff motion module (mm_sd_v15_v2.ckpt / .safetensors); None keeps the source's
    # motion modules (zero-initialised `proj_out` when the source has none)
    motion_module_path: Optional[str] = None
    # zero every motion module's `proj_out` (identity modules, as new ones): stage 1 from a stage-2
    # pipeline, so its frames go through the 2D UNet of the paper and stage 2 learns the motion anew
    reset_motion_modules: bool = False
    motion_max_seq_length: int = 32  # AnimateDiff / Moore: 32 positions
    # false: the no-ReferenceNet ablation (DESIGN §6): none is loaded, trained or saved; the reference
    # reaches the UNet only through the image encoder
    use_reference_net: bool = True
    pose_guider_channels: List[int] = field(default_factory=lambda: [16, 32, 64, 128])  # the paper's
    # tiny source: block widths of both UNets (multiples of 32, the motion modules' norm groups);
    # cross-attention in every block but the deepest. [32, 64] is `animate_anyone.testing`'s toy size.
    unet_channels: List[int] = field(default_factory=lambda: [32, 64])
    # VAE built from scratch (tiny source, VAE stage without vae_path): block widths (multiples of 8;
    # four blocks = SD's 8x downsampling) and resnet layers per block
    vae_channels: List[int] = field(default_factory=lambda: [16, 16, 32, 32])
    vae_layers_per_block: int = 1
    seed: int = 0  # initial weights of parts built from scratch


@dataclass
class DataConfig:
    """The dataset folder (see `animate-anyone data prepare`) and how samples are cut from it."""

    root: str = "data/dataset"
    width: int = 768
    height: int = 768
    num_frames: int = 24  # stage 2 clip length
    sample_rate: int = 4  # stage 2: every `sample_rate`-th frame
    reference_min_gap: int = 30  # stage 1: reference and target this many frames apart where possible
    crop_scale_min: float = 0.9  # shared random crop covers [min, 1] of the largest crop of the output aspect
    num_workers: int = 2


@dataclass
class TrainingConfig:
    """The optimisation recipe (DESIGN §5)."""

    max_steps: int = 30000
    batch_size: int = 4  # per process, per micro-step
    gradient_accumulation_steps: int = 1
    learning_rate: float = 1e-5
    lr_scheduler: str = "constant_with_warmup"  # any name `diffusers.optimization.get_scheduler` knows
    lr_warmup_steps: int = 1
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8
    weight_decay: float = 1e-2
    max_grad_norm: float = 1.0
    use_8bit_adam: bool = False  # needs bitsandbytes (GPU)
    mixed_precision: str = "no"  # no | fp16 | bf16 (trainable weights stay fp32; frozen ones cast)
    gradient_checkpointing: bool = False
    condition_drop_rate: float = 0.1  # samples with no reference tokens and a zero CLIP embedding
    noise_offset: float = 0.05
    snr_gamma: Optional[float] = 5.0  # min-SNR weighting; None: plain MSE
    use_ema: bool = False
    ema_decay: float = 0.9999
    # VAE stage: loss = mean |x - decode(z)| per pixel + kl_weight x KL(posterior || N(0, 1)) per latent element
    kl_weight: float = 1e-4
    # VAE stage from model.vae_path: train the decoder only, so latents (and models trained on them) stay valid
    vae_decoder_only: bool = False


@dataclass
class CheckpointConfig:
    every_steps: int = 1000
    total_limit: Optional[int] = 3  # keep this many newest checkpoints; None keeps all


@dataclass
class ValidationConfig:
    every_steps: int = 1000  # 0: never
    num_frames: int = 1  # stage 1 shows single frames; stage 2 clips
    num_inference_steps: int = 25
    guidance_scale: float = 3.5
    video_index: int = 0  # which dataset entry (reference: its first frame; poses: its first frames)


@dataclass
class TrainConfig:
    stage: Union[int, str] = 1  # 1 (images), 2 (motion modules) or vae (the autoencoder, before stage 1)
    output_dir: str = "outputs/train"
    seed: int = 0  # data order, crops, noise, timesteps, condition dropout
    log_every_steps: int = 1
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    checkpointing: CheckpointConfig = field(default_factory=CheckpointConfig)
    validation: ValidationConfig = field(default_factory=ValidationConfig)


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def load_config(path: str | os.PathLike | None = None, overrides: list[str] | None = None) -> TrainConfig:
    """The schema's defaults, then the YAML file, then `key=value` overrides; checked."""
    schema = OmegaConf.structured(TrainConfig)
    layers = []
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise InputError(f"config file not found: {path}")
        try:
            layers.append(OmegaConf.load(path))
        except (OmegaConfBaseException, ValueError, OSError) as error:
            raise InputError(f"cannot read config {path}: {_first_line(error)}") from None
    for override in overrides or []:
        if "=" not in override or override.startswith("="):
            raise InputError(f"override {override!r} is not of the form key=value")
    try:
        layers.append(OmegaConf.from_dotlist(list(overrides or [])))
        merged = OmegaConf.merge(schema, *layers)
        config: TrainConfig = OmegaConf.to_object(merged)
    except OmegaConfBaseException as error:
        key = getattr(error, "full_key", None)
        where = f" (key {key!r})" if key else ""
        raise InputError(f"bad config{where}: {_first_line(error)}") from None
    check_config(config)
    return config


def check_config(config: TrainConfig) -> None:
    """Value checks omegaconf's types cannot express."""
    if config.training.mixed_precision in ("False", "false"):  # YAML 1.1 reads an unquoted `no` as false
        config.training.mixed_precision = "no"
    problems = []
    if config.stage not in STAGES:
        problems.append(f"stage must be 1, 2 or vae, got {config.stage!r}")
    if config.model.source not in MODEL_SOURCES:
        problems.append(f"model.source must be one of {', '.join(MODEL_SOURCES)}, got {config.model.source!r}")
    if config.model.source in ("sd", "moore", "pipeline") and not config.model.path:
        problems.append(f"model.source={config.model.source} needs model.path")
    if config.model.source == "moore" and not config.model.base_path:
        problems.append("model.source=moore needs model.base_path (the SD image-variations folder)")
    model, data, training = config.model, config.data, config.training
    if len(model.unet_channels) < 2 or any(width <= 0 or width % 32 for width in model.unet_channels):
        problems.append(f"model.unet_channels must be at least 2 positive multiples of 32, got {model.unet_channels}")
    if len(model.vae_channels) < 2 or any(width <= 0 or width % 8 for width in model.vae_channels):
        problems.append(f"model.vae_channels must be at least 2 positive multiples of 8, got {model.vae_channels}")
    if model.vae_layers_per_block < 1:
        problems.append("model.vae_layers_per_block must be at least 1")
    if data.width % 8 or data.height % 8 or data.width <= 0 or data.height <= 0:
        problems.append(f"data.width and data.height must be positive multiples of 8, got {data.width}x{data.height}")
    if data.num_frames < 1 or data.sample_rate < 1:
        problems.append("data.num_frames and data.sample_rate must be at least 1")
    if config.stage == 2 and data.num_frames > config.model.motion_max_seq_length:
        problems.append(f"data.num_frames {data.num_frames} exceeds model.motion_max_seq_length "
                        f"{config.model.motion_max_seq_length}")
    if not 0 < data.crop_scale_min <= 1:
        problems.append(f"data.crop_scale_min must be in (0, 1], got {data.crop_scale_min}")
    if data.num_workers < 0:
        problems.append("data.num_workers must be >= 0")
    if training.max_steps < 1 or training.batch_size < 1 or training.gradient_accumulation_steps < 1:
        problems.append("training.max_steps, batch_size and gradient_accumulation_steps must be at least 1")
    if training.learning_rate <= 0:
        problems.append(f"training.learning_rate must be positive, got {training.learning_rate}")
    if training.mixed_precision not in MIXED_PRECISION:
        problems.append(f"training.mixed_precision must be one of {', '.join(MIXED_PRECISION)}, "
                        f"got {training.mixed_precision!r}")
    if not 0 <= training.condition_drop_rate < 1:
        problems.append(f"training.condition_drop_rate must be in [0, 1), got {training.condition_drop_rate}")
    if training.kl_weight < 0:
        problems.append(f"training.kl_weight must be >= 0, got {training.kl_weight}")
    if training.vae_decoder_only and (config.stage != "vae" or config.model.vae_path is None):
        problems.append("training.vae_decoder_only fine-tunes an existing VAE: it needs stage vae and model.vae_path")
    if training.snr_gamma is not None and training.snr_gamma <= 0:
        problems.append(f"training.snr_gamma must be positive or null, got {training.snr_gamma}")
    if config.checkpointing.every_steps < 1:
        problems.append("checkpointing.every_steps must be at least 1")
    if config.checkpointing.total_limit is not None and config.checkpointing.total_limit < 1:
        problems.append("checkpointing.total_limit must be at least 1 (or null to keep all)")
    if config.validation.every_steps < 0 or config.validation.num_frames < 1:
        problems.append("validation.every_steps must be >= 0 and validation.num_frames >= 1")
    if problems:
        raise InputError("bad config: " + "; ".join(problems))


def config_to_yaml(config: TrainConfig) -> str:
    return OmegaConf.to_yaml(OmegaConf.structured(config))


def save_config(config: TrainConfig, path: str | os.PathLike) -> Path:
    """Write the resolved config as YAML (loadable with `load_config`)."""
    from animate_anyone.data.video_io import atomic_output

    with atomic_output(path) as temp_path:
        temp_path.write_text(config_to_yaml(config))
    return Path(path)
