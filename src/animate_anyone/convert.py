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
from collections.abc import Iterable, Iterator
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


def release_components(
    checkpoint_dir: str | os.PathLike,
    base_dir: str | os.PathLike,
    vae_dir: str | os.PathLike | None = None,
    image_encoder_dir: str | os.PathLike | None = None,
    flavour: str = "moore",
) -> Iterator[tuple[str, torch.nn.Module]]:
    """The model components of released checkpoint files and an SD image-variations base folder (fp32,
    eval mode), as (name, module) pairs built one at a time while iterated: each `.pth` is mapped only
    while its component is built, so a consumer that lets a component go before taking the next
    (`write_pipeline_folder`) holds one component at a time. The inputs are checked on the call."""
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
    return _build_release_components(checkpoint_dir, config_path, vae_path, encoder_path, flavour)


def _build_release_components(checkpoint_dir: Path, config_path: Path, vae_path: Path, encoder_path: Path,
                              flavour: str) -> Iterator[tuple[str, torch.nn.Module]]:
    def mapped(name: str) -> dict[str, torch.Tensor]:  # paged in when a tensor is used
        return load_state_dict(checkpoint_dir / name, mmap=True)

    pose_state = mapped("pose_guider.pth")
    pose_guider = PoseGuider(**pose_guider_config_of(pose_state))
    load_strict(pose_guider, pose_state, "pose_guider.pth")
    del pose_state
    yield "pose_guider", pose_guider.eval()
    del pose_guider

    # The UNets are built without memory (no random initialisation to overwrite) and take the mapped
    # checkpoint tensors as they are, then one cast to fp32 (a no-op for fp32 files).
    unet2d_config = dict(UNet2DConditionModel.load_config(config_path.parent))
    heads = {key: value.clone() for key, value in mapped("denoising_unet.pth").items() if key in HEAD_KEYS}
    with init_empty_weights():
        reference_net = UNet2DConditionModel.from_config(unet2d_config)
    load_strict(reference_net, reference_net_state(mapped("reference_unet.pth"), heads), "reference_unet.pth",
                assign=True)
    yield "reference_net", reference_net.float().eval()
    del reference_net

    motion = mapped("motion_module.pth")
    positions = motion_positions_of(motion, MOTION_POSITIONS[flavour])
    try:
        with init_empty_weights():  # buffers (the motion modules' position tables) are still computed
            unet = AnimateAnyoneUNet.from_config(motion_unet_config(unet2d_config, motion_max_seq_length=positions))
    except ValueError as error:
        raise InputError(f"cannot build the denoising UNet from {config_path}: {error}") from None
    load_strict(unet, denoising_unet_state(mapped("denoising_unet.pth"), motion, unet),
                "denoising_unet.pth + motion_module.pth", assign=True)
    del motion
    yield "unet", unet.float().eval()
    del unet

    yield "vae", load_pretrained(AutoencoderKL, vae_path, "VAE").eval()
    yield "image_encoder", load_pretrained(CLIPVisionModelWithProjection, encoder_path, "image encoder").eval()


def load_moore_pipeline(
    checkpoint_dir: str | os.PathLike,
    base_dir: str | os.PathLike,
    vae_dir: str | os.PathLike | None = None,
    image_encoder_dir: str | os.PathLike | None = None,
    flavour: str = "moore",
) -> AnimateAnyonePipeline:
    """Build the pipeline from released checkpoint files and an SD image-variations base folder (fp32)."""
    components = dict(release_components(checkpoint_dir, base_dir, vae_dir, image_encoder_dir, flavour))
    return AnimateAnyonePipeline(**components, scheduler=scheduler_for_animate_anyone())


def check_new_folder(output_dir: str | os.PathLike) -> Path:
    """`output_dir` as a Path, if it does not exist yet and its parent does."""
    output_dir = Path(output_dir)
    if output_dir.exists():
        raise InputError(f"output folder already exists: {output_dir}")
    if not output_dir.resolve().parent.is_dir():
        raise InputError(f"parent folder does not exist: {output_dir.resolve().parent}")
    return output_dir


def write_pipeline_folder(components: Iterable[tuple[str, object]], output_dir: str | os.PathLike,
                          dtype: torch.dtype | None = None, generation_defaults: dict | None = None) -> Path:
    """Write a pipeline folder from (name, component) pairs (every `AnimateAnyonePipeline` component;
    None for an absent optional one), one component at a time: each model is cast to `dtype`, saved,
    and its weights let go (moved to the meta device) before the next is taken, so memory holds one
    component, not the pipeline. `model_index.json` is the one `save_pretrained` writes. Written into a
    temporary sibling folder, then renamed into place (never half-written); with `generation_defaults`,
    the folder's `generation_defaults.json` too (pipelines.loading)."""
    output_dir = check_new_folder(output_dir)
    parent = output_dir.resolve().parent
    temp_dir = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.", dir=parent))
    try:
        written = {}
        for name, component in components:
            if isinstance(component, torch.nn.Module):
                if dtype is not None:
                    component.to(dtype=dtype)
                component.save_pretrained(temp_dir / name)
                component.to(device="meta")
            elif component is not None:
                component.save_pretrained(temp_dir / name)
            written[name] = component
            del component
        AnimateAnyonePipeline(**written).save_config(temp_dir)  # model_index.json
        if generation_defaults is not None:
            from animate_anyone.pipelines.loading import write_generation_defaults

            write_generation_defaults(temp_dir, generation_defaults)
        os.replace(temp_dir, output_dir)
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)
    return output_dir
