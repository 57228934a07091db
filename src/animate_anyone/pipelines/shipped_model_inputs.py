"""Whether a reference image is like the procedural characters the shipped model was trained on.

The shipped `tiny128` model has only ever seen our procedural characters (data.synthetic): flat-shaded,
colourful figures over drawn backgrounds. Given a photo it still runs, and returns a blur in roughly
the photo's background colour. `unlike_training_data` gives the reason to say so, by two measured rules:

* **colour variety**: the share of distinct colours (5 bits per channel) among the pixels of the
  image resized to 128x128, as the model sees it. Procedural characters: at most 0.040 (120 test-split
  characters rendered at 128x128, 256x256, 384x512 and 512x768; medians 0.015-0.026). Photos: 0.041
  to 0.111 (the sample photo 0.056, the costume photo 0.064; scikit-image's sample photos astronaut
  0.111, motorcycle 0.090, coffee 0.053, chelsea 0.048, rocket 0.041). Above `MAX_COLOUR_VARIETY`
  (0.045) the image is called photo-like: 6 of those 7 photos, none of the 120 characters. Flat-colour
  drawings (the sample anime drawing: 0.032) pass as character-like; by this measure they are.
* **no colour**: a grey-scale image (every pixel's channels within `GREY_SPREAD`); every procedural
  character is coloured.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

MODEL_VIEW = (128, 128)
COLOUR_BITS = 5
MAX_COLOUR_VARIETY = 0.045
GREY_SPREAD = 8


def colour_variety(image: Image.Image) -> float:
    """Share of distinct colours (COLOUR_BITS per channel) among the pixels of `image` at MODEL_VIEW."""
    pixels = np.asarray(image.convert("RGB").resize(MODEL_VIEW, Image.BOX)) >> (8 - COLOUR_BITS)
    return len(np.unique(pixels.reshape(-1, 3), axis=0)) / (MODEL_VIEW[0] * MODEL_VIEW[1])


def unlike_training_data(image: Image.Image) -> str | None:
    """Why `image` is unlike the shipped model's procedural characters, or None when it is like them."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.int16)
    if int((pixels.max(axis=-1) - pixels.min(axis=-1)).max()) <= GREY_SPREAD:
        return "it has no colour"
    variety = colour_variety(image)
    if variety > MAX_COLOUR_VARIETY:
        return f"it looks like a photo (colour variety {variety:.3f} > {MAX_COLOUR_VARIETY})"
    return None
