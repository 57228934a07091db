"""What the pipeline returns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import PIL.Image
import torch
from diffusers.utils import BaseOutput


@dataclass
class AnimateAnyonePipelineOutput(BaseOutput):
    """`frames`: one video, as a list of F PIL images, an (F, H, W, 3) float array in [0, 1]
    ("np"), an (F, 3, H, W) tensor in [0, 1] ("pt"), or the (1, 4, F, h, w) latents ("latent")."""

    frames: list[PIL.Image.Image] | np.ndarray | torch.Tensor
