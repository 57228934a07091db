"""What the pipeline returns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import PIL.Image
import torch
from diffusers.utils import BaseOutput


@dataclass
class AnimateAnyonePipelineOutput(BaseOutput):
    """`frames`: V videos, batch first as in diffusers' video pipelines: V lists of F PIL images
    ("pil"), a (V, F, H, W, 3) float array in [0, 1] ("np"), a (V, F, 3, H, W) tensor in [0, 1] ("pt"),
    or the (V, 4, F, h, w) latents ("latent"). `export_to_video(output.frames[0], path)` writes the first."""

    frames: list[list[PIL.Image.Image]] | np.ndarray | torch.Tensor
