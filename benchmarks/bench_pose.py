"""Frames per second of pose extraction, rendering, smoothing and alignment on this machine.

Extraction runs on a synthetic driving clip: the real photo ../shared/reference/media/ref_man_photo.png
letterboxed into SIZE×SIZE frames and sliding sideways a few pixels per frame (so video-mode tracking
has motion to follow). Rendering draws full keypoint sets (body, both hands, face) at 512×768.

    python benchmarks/bench_pose.py [--size 512 --frames 60 --dwpose-dir DIR]

DIR holds yolox_l.onnx and dw-ll_ucoco_384.onnx; without it the dwpose backend is not timed.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image

from animate_anyone.data.video_io import load_image
from animate_anyone.pose.align import align_to_reference
from animate_anyone.pose.extract import create_extractor
from animate_anyone.pose.keypoints import KeypointSequence
from animate_anyone.pose.render import render_sequence
from animate_anyone.pose.smooth import fill_gaps, smooth_keypoints

PHOTO = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "media" / "ref_man_photo.png"


def driving_frames(size: int, count: int) -> np.ndarray:
    photo = load_image(PHOTO)
    photo.thumbnail((size, size))
    canvas = Image.new("RGB", (size, size), (128, 128, 128))
    canvas.paste(photo, ((size - photo.width) // 2, (size - photo.height) // 2))
    base = np.asarray(canvas)
    return np.stack([np.roll(base, 2 * (i % 30) - 30, axis=1) for i in range(count)])


def time_extraction(name: str, frames: np.ndarray, video: bool, **options) -> KeypointSequence:
    extractor = create_extractor(name, video=video, **options)
    extractor(frames[0])  # warm-up (graph start, first detection)
    start = time.perf_counter()
    results = [extractor(frame) for frame in frames]
    seconds = time.perf_counter() - start
    extractor.close()
    found = sum(result is not None for result in results)
    mode = "video (tracking)" if video else "image (detect every frame)"
    print(f"| extract {name}, {mode} | {frames.shape[2]}x{frames.shape[1]} | {len(frames) / seconds:7.1f} "
          f"| person found in {found}/{len(frames)} |")
    return KeypointSequence.from_frames(results, 30.0, frames.shape[2], frames.shape[1])


def time_call(label: str, size: str, frames: int, fn) -> None:
    fn()
    start = time.perf_counter()
    fn()
    print(f"| {label} | {size} | {frames / (time.perf_counter() - start):7.1f} | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512, help="extraction frame size (square)")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--dwpose-dir", type=Path, default=None)
    args = parser.parse_args()
    frames = driving_frames(args.size, args.frames)
    print("| step | size | frames/s | note |\n|---|---|---|---|")
    keypoints = time_extraction("mediapipe", frames, video=True)
    time_extraction("mediapipe", frames, video=False)
    if args.dwpose_dir:
        time_extraction("dwpose", frames, video=True, dwpose_detector=args.dwpose_dir / "yolox_l.onnx",
                        dwpose_model=args.dwpose_dir / "dw-ll_ucoco_384.onnx")
    keypoints = fill_gaps(keypoints)
    time_call("render (body + hands + face)", "512x768", len(keypoints), lambda: render_sequence(keypoints, 512, 768))
    time_call("fill gaps + smooth", "-", len(keypoints), lambda: smooth_keypoints(fill_gaps(keypoints)))
    time_call("align", "-", len(keypoints), lambda: align_to_reference(keypoints, keypoints.head(1)))


if __name__ == "__main__":
    main()
