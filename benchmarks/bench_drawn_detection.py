"""How often the mediapipe backend finds the person in drawn and cartoon characters, per strategy.

Images: the sample media (`../shared/reference/media`: the anime drawing, the costumed figure, the
photo; and pose1.png, a rendered skeleton on black, where nobody should be found) and test-split procedural
characters (`animate_anyone.data.synthetic`, seeds never used in training) rendered at several sizes
and aspect ratios. For procedural characters the true keypoints are known, so a detection also
counts as *right* when the detected neck and hips lie within 10 % of the image height of the truth.

Strategies (each on a fresh static-image Holistic graph):
  plain        the image as it is (what the extractor did before)
  small        shrunk to 256 px on its long side (when larger)
  pad          the image on a border of its own edge colour, 25 % of its size on every side
  low-conf     min_detection_confidence 0.2 instead of 0.5
  low-conf, then pad   both
  fallback     the extractor as shipped: plain, then small, then pad (`extract_mediapipe`)

    python benchmarks/bench_drawn_detection.py [--characters 10]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from animate_anyone.data.synthetic import generate_clip, split_seeds
from animate_anyone.data.video_io import load_image
from animate_anyone.pose.extract_mediapipe import SMALL_SIDE, MediaPipeHolisticExtractor

MEDIA = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "media"
SIZES = ((128, 128), (256, 256), (512, 768), (768, 512))
NECK, RIGHT_HIP, LEFT_HIP = 1, 8, 11


def images(num_characters: int) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
    """(group, RGB image, true body (18, 3) or None)."""
    items = [(f"media: {name}", np.asarray(load_image(MEDIA / name)), None)
             for name in ("ref_anime_woman.png", "ref_hero_costume.png", "ref_man_photo.png", "pose1.png")]
    for width, height in SIZES:
        for seed in split_seeds("test", num_characters, first=2000):
            clip = generate_clip(seed, 1, width, height)
            items.append((f"procedural {width}x{height}", clip.frames[0], clip.keypoints.body[0]))
    return items


def right(found: np.ndarray, truth: np.ndarray, height_over_width: float) -> bool:
    joints = [NECK, RIGHT_HIP, LEFT_HIP]
    error = found[joints, :2] - truth[joints, :2]
    error[:, 0] /= height_over_width  # x in units of the height
    return bool(np.all(np.hypot(error[:, 0], error[:, 1]) < 0.1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--characters", type=int, default=10, help="procedural characters per size (default 10)")
    args = parser.parse_args()
    items = images(args.characters)
    plain = MediaPipeHolisticExtractor(static_image_mode=True, fallbacks=False)
    low = MediaPipeHolisticExtractor(static_image_mode=True, min_detection_confidence=0.2, fallbacks=False)
    low_padded = MediaPipeHolisticExtractor(static_image_mode=True, min_detection_confidence=0.2)
    shipped = MediaPipeHolisticExtractor(static_image_mode=True)
    strategies = {
        "plain": plain,
        "small": lambda image: plain.detect_small(image) if max(image.shape[:2]) > SMALL_SIDE else plain(image),
        "pad": plain.detect_padded,
        "low-conf": low,
        "low-conf, then pad": low_padded,
        "fallback": shipped,
    }
    groups = sorted({group for group, _, _ in items}, key=lambda g: (not g.startswith("media"), g))
    results = {name: {group: [0, 0, 0] for group in groups} for name in strategies}  # found, right, total
    seconds = {name: 0.0 for name in strategies}
    for group, image, truth in items:
        for name, detect in strategies.items():
            start = time.perf_counter()
            found = detect(image)
            seconds[name] += time.perf_counter() - start
            counts = results[name][group]
            counts[2] += 1
            if found is not None:
                counts[0] += 1
                if truth is not None and right(found.body, truth, image.shape[0] / image.shape[1]):
                    counts[1] += 1
    print("| images | " + " | ".join(strategies) + " |")
    print("|---|" + "---|" * len(strategies))
    for group in groups:
        cells = []
        for name in strategies:
            found, good, total = results[name][group]
            cells.append(f"{found}/{total}" + ("" if group.startswith("media") else f" ({good} right)"))
        print(f"| {group} | " + " | ".join(cells) + " |")
    print("| seconds per image | " + " | ".join(f"{seconds[n] / len(items):.3f}" for n in strategies) + " |")
    for extractor in (plain, low, low_padded, shipped):
        extractor.close()


if __name__ == "__main__":
    main()
