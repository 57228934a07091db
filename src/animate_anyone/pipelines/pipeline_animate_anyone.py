"""AnimateAnyonePipeline: reference image + pose frames -> video (Hu et al., 2023)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import PIL.Image
import torch
from diffusers import AutoencoderKL, DDIMScheduler, DiffusionPipeline, UNet2DConditionModel
from diffusers.image_processor import VaeImageProcessor
from diffusers.utils.torch_utils import randn_tensor
from transformers import CLIPVisionModelWithProjection

from animate_anyone.models.clip_input import clip_pixels
from animate_anyone.models.motion_unet import AnimateAnyoneUNet
from animate_anyone.models.pose_guider import PoseGuider
from animate_anyone.models.reference_attention import (
    ReferenceBank,
    install_reference_reader,
    install_reference_writer,
)
from animate_anyone.pipelines.context import context_windows
from animate_anyone.pipelines.output import AnimateAnyonePipelineOutput

ImageInput = PIL.Image.Image | np.ndarray | torch.Tensor
PoseInput = list[PIL.Image.Image] | np.ndarray | torch.Tensor


def scheduler_for_animate_anyone() -> DDIMScheduler:
    """DDIM as the published models were trained: zero-SNR v-prediction, trailing spacing."""
    return DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        prediction_type="v_prediction",
        rescale_betas_zero_snr=True,
        timestep_spacing="trailing",
        clip_sample=False,
        steps_offset=1,
    )


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


def _pose_frames_to_pil(pose_frames: PoseInput) -> list[PIL.Image.Image]:
    if isinstance(pose_frames, (np.ndarray, torch.Tensor)) and pose_frames.ndim != 4:
        raise ValueError(f"pose frames must be 4-D (F, H, W, 3) or (F, 3, H, W), got {tuple(pose_frames.shape)}")
    return [_to_pil(frame) for frame in pose_frames]


class AnimateAnyonePipeline(DiffusionPipeline):
    """Animate a reference character with a pose sequence.

    Components: `vae` (latents), `image_encoder` (CLIP image embedding for cross-attention),
    `reference_net` (2D UNet writing reference tokens; None in the no-ReferenceNet ablation), `unet` (denoising UNet with motion modules and
    reference reading), `pose_guider`, `scheduler` (DDIM).
    """

    model_cpu_offload_seq = "image_encoder->reference_net->pose_guider->unet->vae"
    _optional_components = ["reference_net"]  # None: the no-ReferenceNet ablation (CLIP conditioning only)

    def __init__(
        self,
        vae: AutoencoderKL,
        image_encoder: CLIPVisionModelWithProjection,
        reference_net: UNet2DConditionModel | None,
        unet: AnimateAnyoneUNet,
        pose_guider: PoseGuider,
        scheduler: DDIMScheduler,
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
        install_reference_reader(unet, self.reference_bank)

    @classmethod
    def from_pretrained(cls, *args, **kwargs) -> "AnimateAnyonePipeline":
        """`DiffusionPipeline.from_pretrained`, with every weight copied into freshly allocated memory.

        safetensors tensors are views into the file at arbitrary offsets; oneDNN/MKL choose kernels by
        alignment, so the same weights could give last-bit-different results from a loaded pipeline
        than from the one that saved it. Owning aligned copies makes save -> load exact.
        """
        pipeline = super().from_pretrained(*args, **kwargs)
        for component in pipeline.components.values():
            if isinstance(component, torch.nn.Module):
                for tensor in [*component.parameters(), *component.buffers()]:
                    tensor.data = tensor.data.clone()
        return pipeline

    # ---------------------------------------------------------------- helpers
    def check_inputs(self, num_pose_frames: int, height: int, width: int, num_inference_steps: int,
                     guidance_scale: float, context_frames: int, context_overlap: int,
                     decode_chunk_size: int, output_type: str) -> None:
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
        if decode_chunk_size < 1:
            raise ValueError(f"decode_chunk_size must be at least 1, got {decode_chunk_size}")
        if output_type not in ("pil", "np", "pt", "latent"):
            raise ValueError(f"output_type must be 'pil', 'np', 'pt' or 'latent', got {output_type!r}")

    def encode_reference_clip(self, reference: PIL.Image.Image, device: torch.device) -> torch.Tensor:
        """CLIP `image_embeds` of the reference squashed to the encoder's input size: (1, 1, D)."""
        pixels = clip_pixels(reference, self.image_encoder.config.image_size)[None]
        pixels = pixels.to(device=device, dtype=self.image_encoder.dtype)
        return self.image_encoder(pixels).image_embeds[:, None]

    def encode_reference_latents(self, reference: PIL.Image.Image, height: int, width: int,
                                 device: torch.device) -> torch.Tensor:
        """VAE posterior mean of the reference at the output size, scaled: (1, 4, h, w)."""
        pixels = self.reference_image_processor.preprocess(reference, height=height, width=width)
        pixels = pixels.to(device=device, dtype=self.vae.dtype)
        return self.vae.encode(pixels).latent_dist.mean * self.vae.config.scaling_factor

    def write_reference(self, reference_latents: torch.Tensor, clip_embeds: torch.Tensor) -> None:
        """Run ReferenceNet once (t = 0, conditional CLIP embedding) to fill the reference bank."""
        self.reference_bank.clear()
        if self.reference_net is None:  # an empty bank: the UNet's self-attention reads no reference tokens
            return
        timestep = torch.zeros((), device=reference_latents.device, dtype=torch.long)
        self.reference_net(reference_latents.to(self.reference_net.dtype), timestep,
                           encoder_hidden_states=clip_embeds.to(self.reference_net.dtype), return_dict=False)

    def prepare_pose(self, pose_images: list[PIL.Image.Image], height: int, width: int) -> torch.Tensor:
        """Pose images resized to the output size, in [0, 1]: (F, 3, H, W) on the CPU."""
        return self.pose_image_processor.preprocess(pose_images, height=height, width=width)

    def encode_pose(self, pose_pixels: torch.Tensor, device: torch.device) -> torch.Tensor:
        """Pose Guider features of (F, 3, H, W) pose pixels: (1, C0, F, h, w)."""
        features = self.pose_guider(pose_pixels.to(device=device, dtype=self.pose_guider.dtype))
        return features.transpose(0, 1)[None]

    def prepare_latents(self, num_frames: int, height: int, width: int, device: torch.device,
                        generator: torch.Generator | None, latents: torch.Tensor | None) -> torch.Tensor:
        shape = (1, self.unet.config.in_channels, num_frames,
                 height // self.vae_scale_factor, width // self.vae_scale_factor)
        if latents is None:
            latents = randn_tensor(shape, generator=generator, device=device, dtype=torch.float32)
        elif tuple(latents.shape) != shape:
            raise ValueError(f"latents must have shape {shape}, got {tuple(latents.shape)}")
        return latents.to(device=device, dtype=torch.float32) * self.scheduler.init_noise_sigma

    def decode_latents(self, latents: torch.Tensor, decode_chunk_size: int = 8) -> torch.Tensor:
        """(1, 4, F, h, w) latents -> (F, 3, H, W) frames in [0, 1], `decode_chunk_size` frames at a time."""
        frames = latents[0].transpose(0, 1) / self.vae.config.scaling_factor
        decoded = [self.vae.decode(chunk.to(self.vae.dtype)).sample.float()
                   for chunk in frames.split(decode_chunk_size)]
        return (torch.cat(decoded) / 2 + 0.5).clamp(0, 1)

    def predict_noise(self, latents: torch.Tensor, timestep: torch.Tensor, clip_embeds: torch.Tensor,
                      pose_features: torch.Tensor, guided: bool) -> torch.Tensor:
        """UNet prediction for one window; with guidance, the batch is [unconditional; conditional]:
        the unconditional half reads no reference tokens and gets a zero CLIP embedding."""
        dtype = self.unet.dtype
        if guided:
            latents = torch.cat([latents, latents])
            clip_embeds = torch.cat([torch.zeros_like(clip_embeds), clip_embeds])
            pose_features = torch.cat([pose_features, pose_features])
            self.reference_bank.read_mask = torch.tensor([False, True], device=latents.device)
        else:
            self.reference_bank.read_mask = None
        model_input = self.scheduler.scale_model_input(latents, timestep)
        prediction = self.unet(model_input.to(dtype), timestep, encoder_hidden_states=clip_embeds.to(dtype),
                               pose_features=pose_features.to(dtype), return_dict=False)[0]
        return prediction.float()

    def pose_features_per_window(self, pose_pixels: torch.Tensor, windows: list[range],
                                 device: torch.device) -> Callable[[range], torch.Tensor]:
        """Window -> Pose Guider features (1, C0, f, h, w). Encoded once when one window covers the clip;
        otherwise per window and step, so memory does not grow with the video (the guider costs a few
        percent of a UNet pass)."""
        if len(windows) == 1:
            whole = self.encode_pose(pose_pixels, device)
            return lambda window: whole
        return lambda window: self.encode_pose(pose_pixels[window.start:window.stop], device)

    def denoise_step(self, latents: torch.Tensor, timestep: torch.Tensor, clip_embeds: torch.Tensor,
                     pose_features: Callable[[range], torch.Tensor], windows: list[range],
                     guidance_scale: float) -> torch.Tensor:
        """One DDIM step over the whole clip: every window's prediction (the guidance pair batched),
        averaged per frame over the windows that cover it, then guidance, then the scheduler step."""
        guided = guidance_scale > 1.0
        noise_pred = torch.zeros((2 if guided else 1, *latents.shape[1:]), device=latents.device)
        coverage = torch.zeros(latents.shape[2], device=latents.device)
        for window in windows:
            frames = slice(window.start, window.stop)
            noise_pred[:, :, frames] += self.predict_noise(latents[:, :, frames], timestep, clip_embeds,
                                                            pose_features(window), guided)
            coverage[frames] += 1
        noise_pred = noise_pred / coverage[None, None, :, None, None]
        if guided:
            uncond, cond = noise_pred.chunk(2)
            noise_pred = uncond + guidance_scale * (cond - uncond)
        return self.scheduler.step(noise_pred, timestep, latents, eta=0.0, return_dict=False)[0]

    # ---------------------------------------------------------------- call
    @torch.no_grad()
    def __call__(
        self,
        reference_image: ImageInput,
        pose_frames: PoseInput,
        height: int = 768,
        width: int = 512,
        num_inference_steps: int = 25,
        guidance_scale: float = 3.5,
        generator: torch.Generator | None = None,
        latents: torch.Tensor | None = None,
        context_frames: int = 24,
        context_overlap: int = 4,
        decode_chunk_size: int = 8,
        output_type: Literal["pil", "np", "pt", "latent"] = "pil",
        return_dict: bool = True,
    ) -> AnimateAnyonePipelineOutput | tuple:
        """Generate a video of `reference_image` performing `pose_frames`.

        Args:
            reference_image: PIL image, (H, W, 3) array, or (3, H, W) tensor in [0, 1].
            pose_frames: rendered pose images: list of PIL images, (F, H, W, 3) array, or (F, 3, H, W) tensor in [0, 1].
            height, width: output size, multiples of 8 (the VAE factor); inputs are resized to it.
            num_inference_steps: DDIM steps.
            guidance_scale: classifier-free guidance `u + s (c - u)`; 1.0 skips the unconditional pass.
            generator: for the initial noise (DDIM with eta 0 draws nothing else).
            latents: initial noise (1, 4, F, H/8, W/8) instead of drawing it.
            context_frames, context_overlap: temporal windows for long videos (averaged where they overlap).
            decode_chunk_size: frames decoded by the VAE at a time.
            output_type: "pil" (list of images), "np" ((F, H, W, 3) in [0, 1]), "pt" ((F, 3, H, W)), "latent".
        """
        # 1. Check inputs
        pose_images = _pose_frames_to_pil(pose_frames)
        self.check_inputs(len(pose_images), height, width, num_inference_steps, guidance_scale,
                          context_frames, context_overlap, decode_chunk_size, output_type)
        reference = _to_pil(reference_image)
        device = self._execution_device
        num_frames = len(pose_images)

        # 2. Encode the reference: CLIP embedding, VAE latent, ReferenceNet tokens (once per video)
        clip_embeds = self.encode_reference_clip(reference, device)
        reference_latents = self.encode_reference_latents(reference, height, width, device)
        self.write_reference(reference_latents, clip_embeds)
        try:
            # 3. Prepare the poses (pixels on the CPU; features per window, or once for a single window)
            pose_pixels = self.prepare_pose(pose_images, height, width)
            windows = context_windows(num_frames, context_frames, context_overlap)
            pose_features = self.pose_features_per_window(pose_pixels, windows, device)

            # 4. Timesteps and initial noise
            self.scheduler.set_timesteps(num_inference_steps, device=device)
            latents = self.prepare_latents(num_frames, height, width, device, generator, latents)

            # 5. Denoising loop
            with self.progress_bar(total=len(self.scheduler.timesteps)) as progress:
                for timestep in self.scheduler.timesteps:
                    latents = self.denoise_step(latents, timestep, clip_embeds, pose_features, windows,
                                                guidance_scale)
                    progress.update()
        finally:
            self.reference_bank.clear()  # the reference tokens and their keys/values belong to this video

        # 6. Decode
        if output_type == "latent":
            video = latents
        else:
            video = self.decode_latents(latents, decode_chunk_size)  # (F, 3, H, W)
            if output_type == "np":
                video = video.permute(0, 2, 3, 1).cpu().numpy()
            elif output_type == "pil":
                array = (video.permute(0, 2, 3, 1).cpu().numpy() * 255).round().astype(np.uint8)
                video = [PIL.Image.fromarray(frame) for frame in array]
        self.maybe_free_model_hooks()
        if not return_dict:
            return (video,)
        return AnimateAnyonePipelineOutput(frames=video)
