"""AnimateAnyonePipeline: reference image + pose frames -> video (Hu et al., 2023)."""

from __future__ import annotations

import contextlib
import importlib
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import PIL.Image
import torch
from diffusers import AutoencoderKL, DiffusionPipeline, UNet2DConditionModel
from diffusers.callbacks import MultiPipelineCallbacks, PipelineCallback
from diffusers.image_processor import VaeImageProcessor
from diffusers.schedulers.scheduling_utils import SchedulerMixin
from diffusers.utils.torch_utils import randn_tensor
from transformers import CLIPVisionModelWithProjection

from animate_anyone.checkpoints import check_safetensors_complete, empty_model, load_model_folder, model_weight_files
from animate_anyone.models.clip_input import clip_pixels
from animate_anyone.models.deep_cache import DeepFeatureCache
from animate_anyone.models.motion_unet import AnimateAnyoneUNet
from animate_anyone.models.pose_guider import PoseGuider
from animate_anyone.models.reference_attention import (
    ReferenceBank,
    check_reference_attention,
    install_reference_reader,
    install_reference_writer,
    use_reference_attn_processor,
)
from animate_anyone.pipelines.components import OPTIONAL_COMPONENTS
from animate_anyone.pipelines.context import context_windows
from animate_anyone.pipelines.folder_offload import enable_weights_on_demand
from animate_anyone.pipelines.output import AnimateAnyonePipelineOutput

if TYPE_CHECKING:
    from animate_anyone.distributed import WindowSharing

# Output pixels the VAE decodes at a time by default: its decoder needs about 3.4 KB per output pixel in
# fp32 (measured, SD VAE: 1.27 GiB to decode 8 frames of 256x192), so about 0.4 GiB.
DECODE_CHUNK_PIXELS = 2**17

ImageInput = PIL.Image.Image | np.ndarray | torch.Tensor
PoseInput = list[PIL.Image.Image] | np.ndarray | torch.Tensor
# One item, or a batch: a list (one per video) or an array/tensor with a leading batch axis.
ReferenceBatch = ImageInput | list[ImageInput]
PoseBatch = PoseInput | list[PoseInput]


def _to_pil(image: ImageInput) -> PIL.Image.Image:
    """PIL RGB from a PIL image, an (H, W, 3) array or a (3, H, W) tensor: uint8, or floats in [0, 1]."""
    if isinstance(image, PIL.Image.Image):
        return image.convert("RGB")
    if isinstance(image, torch.Tensor):
        if image.ndim != 3 or image.shape[0] != 3:
            raise ValueError(f"image tensor must be (3, H, W) in [0, 1], got {tuple(image.shape)}")
        image = image.detach().permute(1, 2, 0).cpu().numpy()
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"image array must be (H, W, 3), got {image.shape}")
    if image.dtype == np.uint8:
        return PIL.Image.fromarray(image)
    if not np.issubdtype(image.dtype, np.floating) or image.min() < 0 or image.max() > 1:
        raise ValueError(f"images must be uint8, or floats in [0, 1]; got {image.dtype} in "
                         f"[{image.min()}, {image.max()}]")
    image = (image * 255).round().astype(np.uint8)
    return PIL.Image.fromarray(image)


def _is_model_library(library: str) -> bool:
    """A model_index.json library whose classes `from_pretrained` reads itself (other names are left to diffusers)."""
    return library in ("diffusers", "transformers") or library.startswith("animate_anyone.")


def _is_single_image(item: object) -> bool:
    return isinstance(item, PIL.Image.Image) or (isinstance(item, (np.ndarray, torch.Tensor)) and item.ndim == 3)


def _references_to_pil(reference_image: ReferenceBatch) -> list[PIL.Image.Image]:
    """One reference image, or a batch of them (a list, or a 4-D array/tensor), as PIL images."""
    if _is_single_image(reference_image):
        return [_to_pil(reference_image)]
    if isinstance(reference_image, (np.ndarray, torch.Tensor)) and reference_image.ndim != 4:
        raise ValueError(f"reference_image must be (H, W, 3) or (3, H, W), or a batch of them (B, ...), "
                         f"got {tuple(reference_image.shape)}")
    references = [_to_pil(image) for image in reference_image]
    if not references:
        raise ValueError("reference_image is an empty list: at least one reference image is needed")
    return references


def _pose_sequences_to_pil(pose_frames: PoseBatch) -> list[list[PIL.Image.Image]]:
    """One pose sequence (a list of images, or a 4-D array/tensor), or a batch of them (a list of
    sequences, or a 5-D array/tensor), as lists of PIL images."""
    if isinstance(pose_frames, (np.ndarray, torch.Tensor)):
        if pose_frames.ndim == 4:
            return [[_to_pil(frame) for frame in pose_frames]]
        if pose_frames.ndim != 5:
            raise ValueError(f"pose frames must be (F, H, W, 3) or (F, 3, H, W), or a batch of them (B, F, ...), "
                             f"got {tuple(pose_frames.shape)}")
    elif len(pose_frames) == 0 or _is_single_image(pose_frames[0]):
        return [[_to_pil(frame) for frame in pose_frames]]
    sequences = []
    for sequence in pose_frames:
        if isinstance(sequence, (np.ndarray, torch.Tensor)) and sequence.ndim != 4:
            raise ValueError(f"each pose sequence must be (F, H, W, 3) or (F, 3, H, W), got {tuple(sequence.shape)}")
        sequences.append([_to_pil(frame) for frame in sequence])
    return sequences


class AnimateAnyonePipeline(DiffusionPipeline):
    """Animate a reference character with a pose sequence.

    Components: `vae` (latents), `image_encoder` (CLIP image embedding for cross-attention),
    `reference_net` (2D UNet writing reference tokens; None in the no-ReferenceNet ablation), `unet`
    (denoising UNet with motion modules and reference reading), `pose_guider`, `scheduler` (DDIM by default; any of
    `pipelines.schedulers.SCHEDULERS`).

    Reference attention is part of the model, not of the attention backend: the reference hooks
    (`models.reference_attention`) keep it working under `enable_attention_slicing()`,
    `enable_xformers_memory_efficient_attention()`, `unet.set_default_attn_processor()` and diffusers'
    processors set with `set_attn_processor`; a processor that cannot attend over the reference tokens
    is refused with a `ValueError`. `disable_attention_slicing()` and
    `disable_xformers_memory_efficient_attention()` put the fast reference processor back.

    One call at a time per pipeline object: the reference bank and `interrupt` are per-call state.
    """

    model_cpu_offload_seq = "image_encoder->reference_net->pose_guider->unet->vae"
    _optional_components = list(OPTIONAL_COMPONENTS)
    # What `callback_on_step_end` may read and replace: the latents (V, 4, F, h, w) and the CLIP image
    # embeddings of the conditional branch (V, 1, D), V = number of videos.
    _callback_tensor_inputs = ["latents", "image_embeds"]

    def __init__(
        self,
        vae: AutoencoderKL,
        image_encoder: CLIPVisionModelWithProjection,
        reference_net: UNet2DConditionModel | None,
        unet: AnimateAnyoneUNet,
        pose_guider: PoseGuider,
        scheduler: SchedulerMixin,
    ):
        super().__init__()
        self.register_modules(
            vae=vae,
            image_encoder=image_encoder,
            reference_net=reference_net,
            unet=unet,
            pose_guider=pose_guider,
            scheduler=scheduler,
        )
        self.vae_scale_factor = 2 ** (len(vae.config.block_out_channels) - 1)
        if pose_guider.downscale_factor != self.vae_scale_factor:
            raise ValueError(
                f"pose guider downscales by {pose_guider.downscale_factor}, the VAE by {self.vae_scale_factor}"
            )
        self.reference_image_processor = VaeImageProcessor(vae_scale_factor=self.vae_scale_factor)
        self.pose_image_processor = VaeImageProcessor(vae_scale_factor=self.vae_scale_factor, do_normalize=False)
        self.reference_bank = ReferenceBank()
        if reference_net is not None:
            install_reference_writer(reference_net, self.reference_bank)
        self._reference_paths = install_reference_reader(unet, self.reference_bank)
        self._guidance_scale = 1.0
        self._num_timesteps = 0
        self._interrupt = False
        self._deep_cache: DeepFeatureCache | None = None  # per call, with deep_cache_interval > 1

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, weights_on_demand: bool = False,
                        **kwargs) -> "AnimateAnyonePipeline":
        """`DiffusionPipeline.from_pretrained`, holding one copy of the weights and aligned memory.

        From a local folder, each model component with safetensors weights is read tensor by tensor into
        a model built without memory (`checkpoints.load_model_folder`), cast to `dtype` as it is read, and
        handed to diffusers: the weights are never held twice (diffusers maps the file, and copying out
        of the map would keep both). Any other component (other formats, variants) diffusers loads, and
        its tensors are then copied out of the file's map: safetensors tensors lie at arbitrary offsets;
        oneDNN/MKL choose kernels by alignment, so the same weights could give last-bit-different results
        from a loaded pipeline than from the one that saved it. Owned, aligned copies make save -> load exact.

        `weights_on_demand` (CPU only; needs `dtype` and safetensors weights): no weights but the Pose
        Guider's are read now; each other model reads its own when it is called and lets them go when
        the next model starts (`pipelines.folder_offload`): the peak holds the largest model, not all.
        """
        folder = Path(pretrained_model_name_or_path)
        dtype = kwargs.get("dtype", kwargs.get("torch_dtype"))
        ours = folder.is_dir() and kwargs.get("variant") is None and (dtype is None or isinstance(dtype, torch.dtype))
        if weights_on_demand and (not ours or dtype is None):
            raise ValueError("weights_on_demand needs a local pipeline folder and a dtype")
        on_demand: dict[str, list[Path]] = {}
        for name, model_class in (cls._model_classes(folder) if ours else {}).items():
            if name in kwargs:
                continue
            if weights_on_demand and name != "pose_guider":  # it runs between the UNet's windows, and is small
                on_demand[name] = model_weight_files(model_class, folder / name)
                if not on_demand[name]:
                    raise ValueError(f"weights_on_demand reads safetensors weights; {folder / name} has none")
                for path in on_demand[name]:
                    check_safetensors_complete(path)
                kwargs[name] = torch.nn.Module.to(empty_model(model_class, folder / name), dtype=dtype).eval()
                continue
            model = load_model_folder(model_class, folder / name, dtype)
            if model is not None:
                kwargs[name] = model
        given = set(kwargs)
        pipeline = super().from_pretrained(pretrained_model_name_or_path, **kwargs)
        for name, component in pipeline.components.items():
            if isinstance(component, torch.nn.Module) and name not in given:
                for tensor in [*component.parameters(), *component.buffers()]:
                    tensor.data = tensor.data.clone()
        if on_demand:
            enable_weights_on_demand(pipeline, on_demand, dtype, torch.device("cpu"))
        return pipeline

    @classmethod
    def _model_classes(cls, folder: Path) -> dict[str, type]:
        """The model components (torch modules) that a pipeline folder's model_index.json names, by class."""
        classes = {}
        for name, entry in cls.load_config(folder).items():
            if name.startswith("_") or not isinstance(entry, list) or len(entry) != 2:
                continue
            library, class_name = entry
            if library is None or not _is_model_library(library):
                continue
            model_class = getattr(importlib.import_module(library), class_name, None)
            if isinstance(model_class, type) and issubclass(model_class, torch.nn.Module):
                classes[name] = model_class
        return classes

    # ---------------------------------------------------------------- diffusers' levers
    @property
    def guidance_scale(self) -> float:
        return self._guidance_scale

    @property
    def do_classifier_free_guidance(self) -> bool:
        return self._guidance_scale > 1.0

    @property
    def num_timesteps(self) -> int:
        return self._num_timesteps

    @property
    def interrupt(self) -> bool:
        """Set it (`pipe.interrupt = True`, e.g. from a callback or a UI's cancel button) to stop the
        denoising loop after the current step; the call then decodes the latents it has."""
        return self._interrupt

    @interrupt.setter
    def interrupt(self, value: bool) -> None:
        self._interrupt = bool(value)

    def set_attention_slice(self, slice_size: int | str | None) -> None:
        """diffusers' slicing on every component; `None` (`disable_attention_slicing()`) also puts the
        fast reference processor back on the UNet."""
        super().set_attention_slice(slice_size)
        if slice_size is None:
            use_reference_attn_processor(self.unet)

    def set_use_memory_efficient_attention_xformers(self, valid: bool, attention_op: Callable | None = None) -> None:
        """diffusers' xFormers switch; switching it off also puts the fast reference processor back."""
        super().set_use_memory_efficient_attention_xformers(valid, attention_op)
        if not valid:
            use_reference_attn_processor(self.unet)

    # ---------------------------------------------------------------- helpers
    def check_inputs(self, num_pose_frames: int, height: int, width: int, num_inference_steps: int,
                     guidance_scale: float, context_frames: int, context_overlap: int,
                     decode_chunk_size: int | None, output_type: str, num_videos_per_prompt: int = 1,
                     callback_on_step_end_tensor_inputs: list[str] | None = None,
                     deep_cache_interval: int = 1) -> None:
        if num_pose_frames < 1:
            raise ValueError("pose_frames is empty: at least one pose frame is needed")
        if height % self.vae_scale_factor or width % self.vae_scale_factor or height <= 0 or width <= 0:
            raise ValueError(f"height and width must be positive multiples of {self.vae_scale_factor}, got {height}x{width}")
        if num_inference_steps < 1:
            raise ValueError(f"num_inference_steps must be at least 1, got {num_inference_steps}")
        if guidance_scale < 1.0:
            raise ValueError(f"guidance_scale must be >= 1 (1 disables guidance), got {guidance_scale}")
        if context_frames < 1 or not 0 <= context_overlap < context_frames:
            raise ValueError(f"need context_frames >= 1 and 0 <= context_overlap < context_frames, "
                             f"got {context_frames} and {context_overlap}")
        if context_frames > self.unet.config.motion_max_seq_length:
            raise ValueError(f"context_frames {context_frames} exceeds the motion modules' position encoding "
                             f"({self.unet.config.motion_max_seq_length} frames)")
        if decode_chunk_size is not None and decode_chunk_size < 1:
            raise ValueError(f"decode_chunk_size must be at least 1 (or None: by size), got {decode_chunk_size}")
        if deep_cache_interval < 1:
            raise ValueError(f"deep_cache_interval must be at least 1 (1: off), got {deep_cache_interval}")
        if output_type not in ("pil", "np", "pt", "latent"):
            raise ValueError(f"output_type must be 'pil', 'np', 'pt' or 'latent', got {output_type!r}")
        if num_videos_per_prompt < 1:
            raise ValueError(f"num_videos_per_prompt must be at least 1, got {num_videos_per_prompt}")
        unknown = [name for name in callback_on_step_end_tensor_inputs or [] if name not in self._callback_tensor_inputs]
        if unknown:
            raise ValueError(f"callback_on_step_end_tensor_inputs may only name {self._callback_tensor_inputs}, "
                             f"got {unknown}")
        check_reference_attention(self.unet, self.reference_bank)

    @staticmethod
    def pair_inputs(references: list, pose_sequences: list[list]) -> int:
        """Number of (reference, pose sequence) pairs: the lists have equal lengths, or one has one item
        that serves every pair; every pose sequence has the same frame count."""
        if len(references) > 1 and len(pose_sequences) > 1 and len(references) != len(pose_sequences):
            raise ValueError(f"got {len(references)} reference images and {len(pose_sequences)} pose sequences: "
                             "give one of each per video, or one of either for all")
        frame_counts = sorted({len(sequence) for sequence in pose_sequences})
        if len(frame_counts) > 1:
            raise ValueError(f"pose sequences of a batch must have equal frame counts, got {frame_counts}")
        return max(len(references), len(pose_sequences))

    def encode_reference_clip(self, references: PIL.Image.Image | list[PIL.Image.Image],
                              device: torch.device) -> torch.Tensor:
        """CLIP `image_embeds` of the references squashed to the encoder's input size: (R, 1, D)."""
        references = references if isinstance(references, list) else [references]
        pixels = torch.stack([clip_pixels(reference, self.image_encoder.config.image_size) for reference in references])
        pixels = pixels.to(device=device, dtype=self.image_encoder.dtype)
        return self.image_encoder(pixels).image_embeds[:, None]

    def encode_reference_latents(self, references: PIL.Image.Image | list[PIL.Image.Image], height: int, width: int,
                                 device: torch.device) -> torch.Tensor:
        """VAE posterior mean of the references at the output size, scaled: (R, 4, h, w)."""
        pixels = self.reference_image_processor.preprocess(references, height=height, width=width)
        pixels = pixels.to(device=device, dtype=self.vae.dtype)
        return self.vae.encode(pixels).latent_dist.mean * self.vae.config.scaling_factor

    def write_reference(self, reference_latents: torch.Tensor, clip_embeds: torch.Tensor) -> None:
        """Run ReferenceNet once per video batch (t = 0, conditional CLIP embeddings) to fill the
        reference bank with one row per reference image."""
        self.reference_bank.clear()
        if self.reference_net is None:  # an empty bank: the UNet's self-attention reads no reference tokens
            return
        timestep = torch.zeros((), device=reference_latents.device, dtype=torch.long)
        self.reference_net(reference_latents.to(self.reference_net.dtype), timestep,
                           encoder_hidden_states=clip_embeds.to(self.reference_net.dtype), return_dict=False)
        missing = sorted(set(self._reference_paths) - set(self.reference_bank.tokens))
        if missing:
            raise ValueError(f"ReferenceNet wrote no reference tokens for {missing[0]} (its reference writer was "
                             "removed), so the UNet would ignore the reference image")

    def prepare_pose(self, pose_images: list[PIL.Image.Image], height: int, width: int) -> torch.Tensor:
        """Pose images resized to the output size, in [0, 1]: (F, 3, H, W) on the CPU."""
        return self.pose_image_processor.preprocess(pose_images, height=height, width=width)

    def encode_pose(self, pose_pixels: torch.Tensor, device: torch.device) -> torch.Tensor:
        """Pose Guider features of (F, 3, H, W) pose pixels, or of a batch (Q, F, 3, H, W):
        (1 or Q, C0, F, h, w)."""
        batch = pose_pixels[None] if pose_pixels.ndim == 4 else pose_pixels
        features = self.pose_guider(batch.flatten(0, 1).to(device=device, dtype=self.pose_guider.dtype))
        return features.unflatten(0, batch.shape[:2]).transpose(1, 2)

    def prepare_latents(self, num_videos: int, num_frames: int, height: int, width: int, device: torch.device,
                        generator: torch.Generator | list[torch.Generator] | None,
                        latents: torch.Tensor | None) -> torch.Tensor:
        shape = (num_videos, self.unet.config.in_channels, num_frames,
                 height // self.vae_scale_factor, width // self.vae_scale_factor)
        if isinstance(generator, list) and len(generator) != num_videos:
            raise ValueError(f"got {len(generator)} generators for {num_videos} videos: give one per video")
        if latents is None:
            latents = randn_tensor(shape, generator=generator, device=device, dtype=torch.float32)
        elif tuple(latents.shape) != shape:
            raise ValueError(f"latents must have shape {shape}, got {tuple(latents.shape)}")
        return latents.to(device=device, dtype=torch.float32) * self.scheduler.init_noise_sigma

    def decode_latents(self, latents: torch.Tensor, decode_chunk_size: int | None = None) -> torch.Tensor:
        """(V, 4, F, h, w) latents -> (V, F, 3, H, W) frames in [0, 1], `decode_chunk_size` frames at a time
        (None: as many as `DECODE_CHUNK_PIXELS` allow, at least one), each chunk written into the output as
        it is decoded: the VAE's working memory does not grow with the video. The VAE decodes each frame on
        its own, so the chunking changes numbers only in the last bits (batch-size kernels)."""
        num_videos, _, num_frames, height, width = latents.shape
        scale = self.vae_scale_factor
        if decode_chunk_size is None:
            decode_chunk_size = max(1, DECODE_CHUNK_PIXELS // (height * width * scale**2))
        video = torch.empty(num_videos, num_frames, 3, height * scale, width * scale, device=latents.device)
        for index, frames in enumerate(latents.transpose(1, 2)):
            for start in range(0, num_frames, decode_chunk_size):
                chunk = frames[start:start + decode_chunk_size] / self.vae.config.scaling_factor
                decoded = self.vae.decode(chunk.to(self.vae.dtype)).sample
                video[index, start:start + decode_chunk_size] = (decoded.float() / 2 + 0.5).clamp(0, 1)
        return video

    def predict_noise(self, latents: torch.Tensor, timestep: torch.Tensor, clip_embeds: torch.Tensor,
                      pose_features: torch.Tensor, guided: bool) -> torch.Tensor:
        """UNet prediction for one window of V videos (V, C, f, h, w); with guidance, the batch is
        [unconditional; conditional]: the unconditional half reads no reference tokens and gets a zero
        CLIP embedding. Video v reads bank row v // (V / R) (R = the bank's reference images)."""
        dtype = self.unet.dtype
        if guided:
            num_videos = latents.shape[0]
            num_references = self.reference_bank.num_references or 1
            readers = torch.arange(num_videos, device=latents.device) // (num_videos // num_references)
            latents = torch.cat([latents, latents])
            clip_embeds = torch.cat([torch.zeros_like(clip_embeds), clip_embeds])
            pose_features = torch.cat([pose_features, pose_features])
            self.reference_bank.sources = torch.cat([torch.full_like(readers, -1), readers])
        else:
            self.reference_bank.sources = None
        model_input = self.scheduler.scale_model_input(latents, timestep)
        prediction = self.unet(model_input.to(dtype), timestep, encoder_hidden_states=clip_embeds.to(dtype),
                               pose_features=pose_features.to(dtype), return_dict=False)[0]
        return prediction.float()

    def pose_features_per_window(self, pose_pixels: torch.Tensor, windows: list[range], num_videos: int,
                                 device: torch.device) -> Callable[[range], torch.Tensor]:
        """Window -> Pose Guider features (V, C0, f, h, w) of Q pose sequences (Q, F, 3, H, W), video v
        driven by sequence v // (V / Q). Encoded once when one window covers the clip; otherwise per
        window and step, so memory does not grow with the video (the guider costs a few percent of a
        UNet pass)."""
        repeats = num_videos // pose_pixels.shape[0]

        def encode(frames: slice) -> torch.Tensor:
            return self.encode_pose(pose_pixels[:, frames], device).repeat_interleave(repeats, dim=0)

        if len(windows) == 1:
            whole = encode(slice(None))
            return lambda window: whole
        return lambda window: encode(slice(window.start, window.stop))

    def denoise_step(self, latents: torch.Tensor, timestep: torch.Tensor, clip_embeds: torch.Tensor,
                     pose_features: Callable[[range], torch.Tensor], windows: list[range],
                     guidance_scale: float, window_sharing: WindowSharing | None = None) -> torch.Tensor:
        """One scheduler step over the whole clip: every window's prediction (the guidance pair batched),
        averaged per frame over the windows that cover it, then guidance, then the scheduler step.
        With `window_sharing`, this process predicts its share of the windows and the sums are reduced
        over the processes."""
        guided = guidance_scale > 1.0
        # Per-frame sums in fp64 (fp32 on MPS, which has no fp64): a sum of a few fp32 predictions is exact
        # there (unless their exponents differ by more than 29), so the fused prediction is the same whatever
        # the order in which windows, or processes sharing them, add up (docs/scale.md).
        sum_dtype = torch.float32 if latents.device.type == "mps" else torch.float64
        noise_pred = torch.zeros(((2 if guided else 1) * latents.shape[0], *latents.shape[1:]), device=latents.device,
                                 dtype=sum_dtype)
        coverage = torch.zeros(latents.shape[2], device=latents.device, dtype=sum_dtype)
        for window in windows if window_sharing is None else window_sharing.select(windows):
            frames = slice(window.start, window.stop)
            reuse = contextlib.nullcontext() if self._deep_cache is None else self._deep_cache.around((window, guided))
            with reuse:
                noise_pred[:, :, frames] += self.predict_noise(latents[:, :, frames], timestep, clip_embeds,
                                                                pose_features(window), guided)
            coverage[frames] += 1
        if window_sharing is not None:
            noise_pred, coverage = window_sharing.reduce(noise_pred), window_sharing.reduce(coverage)
        noise_pred = (noise_pred / coverage[None, None, :, None, None]).float()
        if guided:
            uncond, cond = noise_pred.chunk(2)
            noise_pred = uncond + guidance_scale * (cond - uncond)
        deterministic = {"eta": 0.0} if "eta" in inspect.signature(self.scheduler.step).parameters else {}  # DDIM
        return self.scheduler.step(noise_pred, timestep, latents, **deterministic, return_dict=False)[0]

    # ---------------------------------------------------------------- call
    @torch.no_grad()
    def __call__(
        self,
        reference_image: ReferenceBatch,
        pose_frames: PoseBatch,
        height: int = 768,
        width: int = 512,
        num_inference_steps: int = 25,
        guidance_scale: float = 3.5,
        num_videos_per_prompt: int = 1,
        generator: torch.Generator | list[torch.Generator] | None = None,
        latents: torch.Tensor | None = None,
        context_frames: int = 24,
        context_overlap: int = 4,
        decode_chunk_size: int | None = None,
        deep_cache_interval: int = 1,
        output_type: Literal["pil", "np", "pt", "latent"] = "pil",
        return_dict: bool = True,
        callback_on_step_end: Callable[[DiffusionPipeline, int, torch.Tensor, dict], dict]
        | PipelineCallback | MultiPipelineCallbacks | None = None,
        callback_on_step_end_tensor_inputs: list[str] | None = None,
        window_sharing: WindowSharing | None = None,
    ) -> AnimateAnyonePipelineOutput | tuple:
        """Generate videos of `reference_image` performing `pose_frames`.

        Args:
            reference_image: one reference (PIL image, (H, W, 3) array, or (3, H, W) tensor in [0, 1]), or
                a batch: a list of them or a 4-D array/tensor.
            pose_frames: one sequence of rendered pose images (list of PIL images, (F, H, W, 3) array, or
                (F, 3, H, W) tensor in [0, 1]), or a batch: a list of sequences or a 5-D array/tensor.
                With a batch, give one reference per pose sequence, or one reference (or one sequence) for
                all; every sequence must have the same frame count.
            height, width: output size, multiples of 8 (the VAE factor); inputs are resized to it.
            num_inference_steps: denoising steps of the pipeline's scheduler.
            guidance_scale: classifier-free guidance `u + s (c - u)`; 1.0 skips the unconditional pass.
            num_videos_per_prompt: videos per (reference, pose sequence) pair, each with its own noise.
            generator: for the initial noise (the deterministic samplers, DDIM with eta 0 among them,
                draw nothing else); a list gives one per video (V = pairs x num_videos_per_prompt), so each video equals a single call with its
                generator.
            latents: initial noise (V, 4, F, H/8, W/8) instead of drawing it.
            context_frames, context_overlap: temporal windows for long videos (averaged where they overlap).
            decode_chunk_size: frames decoded by the VAE at a time; None (the default): as many as
                `DECODE_CHUNK_PIXELS` output pixels (2 frames of 256x256, 1 of 512x768 or more), which bounds the
                decoder's working memory (about 3.4 KB per pixel in fp32: 0.4 GiB) whatever the size.
            deep_cache_interval: feature reuse across steps (DeepCache, `models.deep_cache`): the whole
                denoising UNet runs on every `deep_cache_interval`-th step (the first among them), the
                others reuse its deep features and run only its outermost blocks. 1 (the default) is off;
                2 costs 0.66x the UNet's FLOPs per step at full size and changes the video a little
                (docs/benchmarks.md).
            output_type: batch first, as diffusers' video pipelines: "pil" (V lists of F images), "np"
                ((V, F, H, W, 3) in [0, 1]), "pt" ((V, F, 3, H, W)), "latent" ((V, 4, F, h, w)).
            callback_on_step_end: `callback(pipe, step, timestep, callback_kwargs)` after every step;
                `callback_kwargs` holds the tensors named in `callback_on_step_end_tensor_inputs` (from
                `_callback_tensor_inputs`: "latents", "image_embeds"; default ["latents"]), and the
                tensors in the dict it returns replace them. It may set `pipe.interrupt = True` to stop
                after this step, or change `pipe._guidance_scale` for the remaining steps.
            window_sharing: under `accelerate launch`, share each step's windows between the processes
                (`animate_anyone.distributed.WindowSharing`); every process returns the same videos.
        """
        if isinstance(callback_on_step_end, (PipelineCallback, MultiPipelineCallbacks)):
            callback_on_step_end_tensor_inputs = callback_on_step_end.tensor_inputs
        elif callback_on_step_end_tensor_inputs is None:
            callback_on_step_end_tensor_inputs = ["latents"]

        # 1. Check inputs
        pose_sequences = _pose_sequences_to_pil(pose_frames)
        references = _references_to_pil(reference_image)
        self.check_inputs(min(len(sequence) for sequence in pose_sequences), height, width, num_inference_steps,
                          guidance_scale, context_frames, context_overlap, decode_chunk_size, output_type,
                          num_videos_per_prompt, callback_on_step_end_tensor_inputs, deep_cache_interval)
        num_videos = self.pair_inputs(references, pose_sequences) * num_videos_per_prompt
        num_frames = len(pose_sequences[0])
        self._guidance_scale = guidance_scale
        self._interrupt = False
        device = self._execution_device

        # 2. Encode the references: CLIP embeddings, VAE latents, ReferenceNet tokens (once per video)
        clip_embeds = self.encode_reference_clip(references, device)
        reference_latents = self.encode_reference_latents(references, height, width, device)
        self.write_reference(reference_latents, clip_embeds)
        image_embeds = clip_embeds.repeat_interleave(num_videos // len(references), dim=0)  # (V, 1, D)
        try:
            # 3. Prepare the poses (pixels on the CPU; features per window, or once for a single window)
            pose_pixels = torch.stack([self.prepare_pose(sequence, height, width) for sequence in pose_sequences])
            windows = context_windows(num_frames, context_frames, context_overlap)
            pose_features = self.pose_features_per_window(pose_pixels, windows, num_videos, device)

            # 4. Timesteps and initial noise
            self.scheduler.set_timesteps(num_inference_steps, device=device)
            timesteps = self.scheduler.timesteps
            self._num_timesteps = len(timesteps)
            latents = self.prepare_latents(num_videos, num_frames, height, width, device, generator, latents)

            # 5. Denoising loop
            self._deep_cache = DeepFeatureCache(self.unet) if deep_cache_interval > 1 else None
            with self.progress_bar(total=self._num_timesteps) as progress:
                for step, timestep in enumerate(timesteps):
                    if self.interrupt:
                        break
                    if self._deep_cache is not None:
                        self._deep_cache.reuse = step % deep_cache_interval != 0
                    latents = self.denoise_step(latents, timestep, image_embeds, pose_features, windows,
                                                self.guidance_scale, window_sharing)
                    if callback_on_step_end is not None:
                        tensors = {"latents": latents, "image_embeds": image_embeds}
                        callback_kwargs = {name: tensors[name] for name in callback_on_step_end_tensor_inputs}
                        outputs = callback_on_step_end(self, step, timestep, callback_kwargs) or {}
                        latents = outputs.pop("latents", latents)
                        image_embeds = outputs.pop("image_embeds", image_embeds)
                    progress.update()
        finally:
            self.reference_bank.clear()  # the reference tokens and their keys/values belong to this call
            self._deep_cache = None  # so are the kept deep features

        # 6. Decode
        if output_type == "latent":
            video = latents
        else:
            video = self.decode_latents(latents, decode_chunk_size)  # (V, F, 3, H, W)
            if output_type == "np":
                video = video.permute(0, 1, 3, 4, 2).cpu().numpy()
            elif output_type == "pil":
                array = (video.permute(0, 1, 3, 4, 2).cpu().numpy() * 255).round().astype(np.uint8)
                video = [[PIL.Image.fromarray(frame) for frame in frames] for frames in array]
        self.maybe_free_model_hooks()
        if not return_dict:
            return (video,)
        return AnimateAnyonePipelineOutput(frames=video)
