"""Published Animate Anyone checkpoints -> an `AnimateAnyonePipeline` folder.

Layout of the released files (Moore-AnimateAnyone; MusePose the same with 128 motion positions):
`denoising_unet.pth` (spatial keys, diffusers names), `motion_module.pth` (AnimateDiff names),
`reference_unet.pth` (no `conv_norm_out`/`conv_out`), `pose_guider.pth`; plus an SD
image-variations base folder with `unet/config.json`, `vae/` and `image_encoder/`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from transformers import CLIPVisionModelWithProjection

from animate_anyone.checkpoints import load_state_dict, load_strict
from animate_anyone.errors import InputError
from animate_anyone.models.builders import motion_unet_config
from animate_anyone.models.motion_unet import AnimateAnyoneUNet
from animate_anyone.models.pose_guider import PoseGuider
from animate_anyone.pipelines.pipeline_animate_anyone import AnimateAnyonePipeline, scheduler_for_animate_anyone

CHECKPOINT_FILES = ("denoising_unet.pth", "reference_unet.pth", "pose_guider.pth", "motion_module.pth")
MOTION_POSITIONS = {"moore": 32, "musepose": 128}
HEAD_KEYS = ("conv_norm_out.weight", "conv_norm_out.bias", "conv_out.weight", "conv_out.bias")
POSITION_BUFFER = ".pos_embed.pe"

# AnimateDiff / Moore motion-module names -> diffusers `UNetMotionModel` names.
_MOTION_RENAMES = (
    (".temporal_transformer.", "."),
    (".attention_blocks.0.", ".attn1."),
    (".attention_blocks.1.", ".attn2."),
    (".norms.0.", ".norm1."),
    (".norms.1.", ".norm2."),
    (".ff_norm.", ".norm3."),
)


def motion_module_key(name: str) -> str | None:
    """The diffusers name of an AnimateDiff motion-module key; None for position-encoding buffers (recomputed)."""
    if name.endswith(".pos_encoder.pe"):
        return None
    for old, new in _MOTION_RENAMES:
        name = name.replace(old, new)
    return name


def convert_motion_modules(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename an AnimateDiff-format motion-module state dict; position buffers are dropped."""
    renamed = {}
    for name, tensor in state.items():
        new_name = motion_module_key(name)
        if new_name is not None:
            renamed[new_name] = tensor
    return renamed


def motion_positions_of(state: dict[str, torch.Tensor], default: int) -> int:
    """Position-encoding length stored in an AnimateDiff state dict (its `pe` buffers), else `default`."""
    lengths = {tensor.shape[1] for name, tensor in state.items() if name.endswith(".pos_encoder.pe")}
    if len(lengths) > 1:
        raise InputError(f"motion modules disagree on their position-encoding length: {sorted(lengths)}")
    return lengths.pop() if lengths else default


def pose_guider_config_of(state: dict[str, torch.Tensor]) -> dict:
    """PoseGuider config read off checkpoint shapes: conv_in, then every second block's output width."""
    try:
        channels = [state["conv_in.weight"].shape[0]]
        block_indices = sorted({int(key.split(".")[1]) for key in state if key.startswith("blocks.")})
        channels += [state[f"blocks.{i}.weight"].shape[0] for i in block_indices[1::2]]
        return dict(
            conditioning_embedding_channels=state["conv_out.weight"].shape[0],
            conditioning_channels=state["conv_in.weight"].shape[1],
            block_out_channels=tuple(channels),
        )
    except KeyError as error:
        raise InputError(f"pose_guider.pth is not a Pose Guider checkpoint (no {error})") from None


def _require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise InputError(f"{what} folder not found: {path}")
    return path


def load_moore_pipeline(
    checkpoint_dir: str | os.PathLike,
    base_dir: str | os.PathLike,
    vae_dir: str | os.PathLike | None = None,
    image_encoder_dir: str | os.PathLike | None = None,
    flavour: str = "moore",
) -> AnimateAnyonePipeline:
    """Build the pipeline from released checkpoint files and an SD image-variations base folder (fp32)."""
    if flavour not in MOTION_POSITIONS:
        raise InputError(f"unknown checkpoint flavour {flavour!r}: expected one of {sorted(MOTION_POSITIONS)}")
    checkpoint_dir, base_dir = Path(checkpoint_dir), Path(base_dir)
    _require_dir(checkpoint_dir, "checkpoint")
    missing = [name for name in CHECKPOINT_FILES if not (checkpoint_dir / name).is_file()]
    if missing:
        raise InputError(f"{checkpoint_dir} lacks {', '.join(missing)}")
    config_path = _require_dir(base_dir, "base") / "unet" / "config.json"
    if not config_path.is_file():
        raise InputError(f"base folder has no unet/config.json: {config_path}")
    states = {name: load_state_dict(checkpoint_dir / name) for name in CHECKPOINT_FILES}

    unet2d_config = UNet2DConditionModel.load_config(config_path.parent)
    reference_net = UNet2DConditionModel.from_config(unet2d_config)
    denoising = states["denoising_unet.pth"]
    # The released ReferenceNet has no output head (the pipeline never uses it); take the denoising
    # UNet's so that the folder is an ordinary UNet2DConditionModel.
    reference_state = dict(states["reference_unet.pth"])
    for key in HEAD_KEYS:
        if key not in reference_state and key in denoising:
            reference_state[key] = denoising[key]
    load_strict(reference_net, reference_state, "reference_unet.pth")

    motion = states["motion_module.pth"]
    positions = motion_positions_of(motion, MOTION_POSITIONS[flavour])
    unet = AnimateAnyoneUNet.from_config(motion_unet_config(dict(unet2d_config), motion_max_seq_length=positions))
    unet_state = {**denoising, **convert_motion_modules(motion)}
    unet_state.update({k: v for k, v in unet.state_dict().items() if k.endswith(POSITION_BUFFER)})
    load_strict(unet, unet_state, "denoising_unet.pth + motion_module.pth")

    pose_state = states["pose_guider.pth"]
    pose_guider = PoseGuider(**pose_guider_config_of(pose_state))
    load_strict(pose_guider, pose_state, "pose_guider.pth")

    vae_path = _require_dir(Path(vae_dir) if vae_dir else base_dir / "vae", "VAE")
    encoder_path = _require_dir(Path(image_encoder_dir) if image_encoder_dir else base_dir / "image_encoder",
                                "image encoder")
    try:
        vae = AutoencoderKL.from_pretrained(vae_path)
        image_encoder = CLIPVisionModelWithProjection.from_pretrained(encoder_path)
    except (OSError, ValueError) as error:
        raise InputError(f"cannot load the VAE / image encoder: {error}") from None
    return AnimateAnyonePipeline(
        vae=vae, image_encoder=image_encoder.eval(), reference_net=reference_net, unet=unet,
        pose_guider=pose_guider, scheduler=scheduler_for_animate_anyone(),
    )


def save_pipeline(pipeline: AnimateAnyonePipeline, output_dir: str | os.PathLike) -> Path:
    """`save_pretrained` into a temporary sibling folder, then rename it into place (never half-written)."""
    output_dir = Path(output_dir)
    if output_dir.exists():
        raise InputError(f"output folder already exists: {output_dir}")
    parent = output_dir.resolve().parent
    if not parent.is_dir():
        raise InputError(f"parent folder does not exist: {parent}")
    temp_dir = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.", dir=parent))
    try:
        pipeline.save_pretrained(temp_dir, safe_serialization=True)
        os.replace(temp_dir, output_dir)
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)
    return output_dir
