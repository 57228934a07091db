"""Draw the README's figure: the tiny random pipeline animating a procedural paper doll.

Everything in it is made here (no sample media is copied into the repository): a standing
skeleton whose arms wave, rendered by our pose renderer, and a flat character drawn around the
first pose. The model is `tiny-random`, so the generated row shows untrained noise: the figure
checks the plumbing, not quality.

    python scripts/readme_figure.py docs/images/tiny-random.png
"""

from __future__ import annotations

import sys

import numpy as np
import torch
from PIL import Image, ImageDraw

from animate_anyone.data.contact_sheet import contact_sheet
from animate_anyone.data.video_io import save_image
from animate_anyone.pose.keypoints import NUM_FACE, NUM_HAND, KeypointSequence, missing_points
from animate_anyone.pose.render import render_sequence
from animate_anyone.testing import tiny_pipeline

WIDTH, HEIGHT, FRAMES = 128, 192, 8
# OpenPose-18 standing pose (x, y normalised): nose, neck, r-arm (3), l-arm (3), r-leg (3), l-leg (3), eyes, ears
STANDING = np.array([
    (0.50, 0.14), (0.50, 0.25), (0.40, 0.26), (0.36, 0.40), (0.34, 0.53), (0.60, 0.26), (0.64, 0.40),
    (0.66, 0.53), (0.44, 0.55), (0.44, 0.73), (0.44, 0.91), (0.56, 0.55), (0.56, 0.73), (0.56, 0.91),
    (0.48, 0.12), (0.52, 0.12), (0.46, 0.13), (0.54, 0.13),
])
LIMBS = [(1, 2, "#2b6cb0"), (2, 3, "#2b6cb0"), (3, 4, "#f2c7a5"), (1, 5, "#2b6cb0"), (5, 6, "#2b6cb0"),
         (6, 7, "#f2c7a5"), (1, 8, "#2b6cb0"), (1, 11, "#2b6cb0"), (8, 9, "#444444"), (9, 10, "#444444"),
         (11, 12, "#444444"), (12, 13, "#444444")]


def waving_keypoints() -> KeypointSequence:
    body = np.repeat(np.concatenate([STANDING, np.ones((18, 1))], axis=1)[None], FRAMES, axis=0)
    for frame, angle in enumerate(np.linspace(0.0, 2.2, FRAMES)):
        elbow = body[frame, 6, :2]
        body[frame, 7, :2] = elbow + 0.13 * np.array([np.sin(angle) * 0.8, -np.cos(angle)]) * [1, -1]
    return KeypointSequence(body, missing_points(FRAMES, 2, NUM_HAND), missing_points(FRAMES, NUM_FACE),
                            fps=8, width=WIDTH, height=HEIGHT)


def paper_doll(points: np.ndarray) -> Image.Image:
    image = Image.new("RGB", (WIDTH, HEIGHT), "#e8eef2")
    draw = ImageDraw.Draw(image)
    pixels = points[:, :2] * [WIDTH, HEIGHT]
    draw.polygon([tuple(pixels[i]) for i in (2, 5, 11, 8)], fill="#2b6cb0")  # shirt
    for start, end, colour in LIMBS:
        draw.line([tuple(pixels[start]), tuple(pixels[end])], fill=colour, width=9)
    x, y = pixels[0]
    draw.ellipse([x - 11, y - 13, x + 11, y + 11], fill="#f2c7a5", outline="#5a3825", width=3)
    return image


def main(output: str) -> None:
    keypoints = waving_keypoints()
    poses = [Image.fromarray(frame) for frame in render_sequence(keypoints, WIDTH, HEIGHT)]
    reference = paper_doll(keypoints.body[0])
    frames = tiny_pipeline(seed=0)(reference, poses, height=HEIGHT, width=WIDTH, num_inference_steps=4,
                                   generator=torch.Generator().manual_seed(0)).frames
    save_image(output, contact_sheet(reference, poses, frames, columns=4, cell_height=160))
    print(f"wrote {output}")


if __name__ == "__main__":
    main(sys.argv[1])
