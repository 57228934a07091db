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
from accelerate import init_empty_weights
from diffusers import AutoencoderKL, UNet2DConditionModel
from transformers import CLIPVisionModelWithProjection

from animate_anyone.checkpoints import load_pretrained, load_state_dict, load_strict
from animate_anyone.errors import InputError
from animate_anyone.models.builders import motion_unet_config
from animate_anyone.models.motion_unet import AnimateAnyoneUNet
from animate_anyone.models.pose_guider import PoseGuider
from animate_anyone.pipelines.pipeline_animate_anyone import AnimateAnyonePipeline
from animate_anyone.pipelines.schedulers import scheduler_for_animate_anyone

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


def reference_net_state(reference: dict[str, torch.Tensor], denoising: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """ReferenceNet weights: the released file, plus the denoising UNet's output head.

    The released ReferenceNet has no `conv_norm_out`/`conv_out` (the pipeline never uses its output);
    taking the denoising UNet's keeps the folder an ordinary, strictly loadable UNet2DConditionModel.
    """
    state = dict(reference)
    for key in HEAD_KEYS:
        if key not in state and key in denoising:
            state[key] = denoising[key]
    return state


def denoising_unet_state(
    denoising: dict[str, torch.Tensor], motion: dict[str, torch.Tensor], unet: AnimateAnyoneUNet
) -> dict[str, torch.Tensor]:
    """Denoising-UNet weights: spatial keys as released, renamed motion modules, and the position
    buffers of `unet` itself (sinusoidal tables, recomputed rather than loaded)."""
    state = {**denoising, **convert_motion_modules(motion)}
    state.update({key: value for key, value in unet.state_dict().items() if key.endswith(POSITION_BUFFER)})
    return state


def load_animatediff_motion_modules(unet: AnimateAnyoneUNet, path: str | os.PathLike) -> None:
    """Load an AnimateDiff-format motion module file (`mm_sd_v15_v2.ckpt`, `.pth`, `.safetensors`) strictly
    into `unet`'s motion modules; the spatial weights are left as they are."""
    original = load_state_dict(path)
    positions = motion_positions_of(original, unet.config.motion_max_seq_length)
    motion = convert_motion_modules(original)
    if positions < unet.config.motion_max_seq_length:
        raise InputError(f"{path} encodes {positions} positions, the UNet {unet.config.motion_max_seq_length}")
    state = {key: value for key, value in unet.state_dict().items()
             if ".motion_modules." not in key or key.endswith(POSITION_BUFFER)}
    load_strict(unet, {**state, **motion}, f"motion modules {path}")


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
    vae_path = _require_dir(Path(vae_dir) if vae_dir else base_dir / "vae", "VAE")
    encoder_path = _require_dir(Path(image_encoder_dir) if image_encoder_dir else base_dir / "image_encoder",
                                "image encoder")
    # Mapped, not read: a tensor is paged in when it is copied into its model (the UNets' head keys of
    # denoising_unet.pth are read twice but the file is held once).
    states = {name: load_state_dict(checkpoint_dir / name, mmap=True) for name in CHECKPOINT_FILES}
    denoising, motion = states["denoising_unet.pth"], states["motion_module.pth"]

    # The UNets are built without memory (no random initialisation to overwrite) and take the checkpoint's
    # tensors as they are, then one cast to fp32 (a no-op for fp32 files): one copy of each model at most.
    unet2d_config = dict(UNet2DConditionModel.load_config(config_path.parent))
    with init_empty_weights():
        reference_net = UNet2DConditionModel.from_config(unet2d_config)
    load_strict(reference_net, reference_net_state(states["reference_unet.pth"], denoising), "reference_unet.pth",
                assign=True)

    positions = motion_positions_of(motion, MOTION_POSITIONS[flavour])
    try:
        with init_empty_weights():  # buffers (the motion modules' position tables) are still computed
            unet = AnimateAnyoneUNet.from_config(motion_unet_config(unet2d_config, motion_max_seq_length=positions))
    except ValueError as error:
        raise InputError(f"cannot build the denoising UNet from {config_path}: {error}") from None
    load_strict(unet, denoising_unet_state(denoising, motion, unet), "denoising_unet.pth + motion_module.pth",
                assign=True)

    pose_state = states["pose_guider.pth"]
    pose_guider = PoseGuider(**pose_guider_config_of(pose_state))
    load_strict(pose_guider, pose_state, "pose_guider.pth")

    vae = load_pretrained(AutoencoderKL, vae_path, "VAE")
    image_encoder = load_pretrained(CLIPVisionModelWithProjection, encoder_path, "image encoder")
    reference_net, unet = reference_net.float(), unet.float()
    return AnimateAnyonePipeline(
        vae=vae, image_encoder=image_encoder.eval(), reference_net=reference_net.eval(), unet=unet.eval(),
        pose_guider=pose_guider.eval(), scheduler=scheduler_for_animate_anyone(),
    )


def check_new_folder(output_dir: str | os.PathLike) -> Path:
    """`output_dir` as a Path, if it does not exist yet and its parent does."""
    output_dir = Path(output_dir)
    if output_dir.exists():
        raise InputError(f"output folder already exists: {output_dir}")
    if not output_dir.resolve().parent.is_dir():
        raise InputError(f"parent folder does not exist: {output_dir.resolve().parent}")
    return output_dir


def save_pipeline(pipeline: AnimateAnyonePipeline, output_dir: str | os.PathLike,
                  generation_defaults: dict | None = None) -> Path:
    """`save_pretrained` into a temporary sibling folder, then rename it into place (never half-written);
    with `generation_defaults`, the folder's `generation_defaults.json` too (pipelines.loading)."""
    output_dir = check_new_folder(output_dir)
    parent = output_dir.resolve().parent
    temp_dir = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.", dir=parent))
    try:
        pipeline.save_pretrained(temp_dir, safe_serialization=True)
        if generation_defaults is not None:
            from animate_anyone.pipelines.loading import write_generation_defaults

            write_generation_defaults(temp_dir, generation_defaults)
        os.replace(temp_dir, output_dir)
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)
    return output_dir
