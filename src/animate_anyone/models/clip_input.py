"""The CLIP image encoder's input, made one way for inference and training."""

from __future__ import annotations

import numpy as np
import PIL.Image
import torch

# OpenAI CLIP's pixel statistics (the values every CLIP ViT-L/14 image processor config carries).
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def clip_pixels(image: PIL.Image.Image, size: int) -> torch.Tensor:
    """(3, size, size): the image squashed to the encoder's square input (PIL bicubic, no crop, as the
    published pipeline does), scaled to [0, 1] and normalised with CLIP's mean/std."""
    pixels = torch.from_numpy(np.array(image.convert("RGB").resize((size, size), PIL.Image.BICUBIC))).float() / 255
    return ((pixels - torch.tensor(CLIP_MEAN)) / torch.tensor(CLIP_STD)).permute(2, 0, 1)
