"""Frames per second of each evaluation metric on this machine.

Networks are the full-size architectures with seeded *random* weights (no weight files are read):
the arithmetic, and so the speed, is the same as with the published weights. Frame metrics and
per-frame networks run on 16-frame batches at the given frame size; FID-VID and FVD count the
frames of one 16-frame clip per call (their inputs are resized to 112 and 224 first, as in the
protocol, and that resize is timed too). The Fréchet distance itself is timed once per feature
size, since it is per set, not per frame.

    python benchmarks/bench_metrics.py [--height 512 --width 512 --repeats 3 --device cpu]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from animate_anyone.eval import metrics
from animate_anyone.eval.evaluate import CLIP_FRAMES, FID_VID_SIZE, FVD_SIZE, clip_tensor
from animate_anyone.eval.i3d import I3D
from animate_anyone.eval.inception import FIDInception
from animate_anyone.eval.lpips import LPIPS
from animate_anyone.eval.resnet3d import ResNet3D50


def best_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--height", type=int, default=512)
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.manual_seed(0)
    device = torch.device(args.device)
    rng = np.random.default_rng(0)
    frames_u8 = rng.integers(0, 256, (CLIP_FRAMES, args.height, args.width, 3), dtype=np.uint8)
    other_u8 = rng.integers(0, 256, frames_u8.shape, dtype=np.uint8)
    to_tensor = lambda f: torch.from_numpy(f).to(device).permute(0, 3, 1, 2).float() / 255  # noqa: E731
    a, b = to_tensor(frames_u8), to_tensor(other_u8)
    lpips_vgg, lpips_alex = LPIPS("vgg").to(device), LPIPS("alex").to(device)
    inception, i3d, resnet = FIDInception().to(device), I3D().to(device), ResNet3D50().to(device)

    cases = {
        "l1": lambda: metrics.l1(a, b),
        "psnr": lambda: metrics.psnr(a, b),
        "psnr_star": lambda: metrics.psnr_star(frames_u8, other_u8),
        "ssim": lambda: metrics.ssim(a, b),
        "lpips_alex": lambda: lpips_alex(a, b),
        "lpips_vgg": lambda: lpips_vgg(a, b),
        "fid (Inception features)": lambda: inception(a),
        "fid_vid (3D-ResNet-50 features)": lambda: resnet(clip_tensor(frames_u8, FID_VID_SIZE, device)),
        "fvd (I3D features)": lambda: i3d(clip_tensor(frames_u8, FVD_SIZE, device)),
    }
    print(f"frames {args.width}x{args.height}, batches of {CLIP_FRAMES}, device {device}, "
          f"torch threads {torch.get_num_threads()}, random weights")
    print("| metric | frames/s | note |\n|---|---|---|")
    for name, fn in cases.items():
        seconds = best_seconds(fn, args.repeats)
        note = "one side (features of one video)" if "features" in name else "pair of frames"
        print(f"| {name} | {CLIP_FRAMES / seconds:.1f} | {note} |")
    for dim in (400, 2048):
        features = rng.normal(size=(max(dim + 1, 500), dim))
        seconds = best_seconds(lambda: metrics.frechet_distance_of_features(features, features + 1), 1)
        print(f"| Fréchet distance, D={dim} | — | {seconds:.2f} s per set pair |")


if __name__ == "__main__":
    main()
