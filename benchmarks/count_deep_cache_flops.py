"""FLOPs of a feature-reuse (DeepCache) UNet pass against a full one, full SD-1.5 size, without weights.

The denoising UNet (SD-1.5 + 21 motion modules) is built on the meta device (no memory, nothing
computed) and `torch.utils.flop_counter.FlopCounterMode` counts the matmuls, convolutions and attention
of one pass over the guidance pair, whole and with the deep blocks skipped (`models.deep_cache`). The
reference bank is left empty (its extra keys/values, a few percent of a full pass, would be read by
both kinds of pass in the blocks they share), so the ratio is the UNet's own. FLOPs do not depend on
the machine or its load; time follows them closely for these dense layers.

    python benchmarks/count_deep_cache_flops.py [--frames 8 24] [--sizes 256x192 768x512]
"""

from __future__ import annotations

import argparse

import torch
from diffusers import UNet2DConditionModel
from torch.utils.flop_counter import FlopCounterMode

from animate_anyone.models.builders import SD15_UNET2D_CONFIG, denoising_unet_from_2d
from animate_anyone.models.deep_cache import DeepFeatureCache
from animate_anyone.models.reference_attention import ReferenceBank, install_reference_reader


def pass_flops(unet, cache: DeepFeatureCache, frames: int, height: int, width: int, reuse: bool) -> int:
    sample = torch.randn(2, 4, frames, height // 8, width // 8)  # the guidance pair
    pose = torch.randn(2, unet.config.block_out_channels[0], frames, height // 8, width // 8)
    cache.reuse = reuse
    with torch.no_grad(), FlopCounterMode(display=False) as counter, cache.around("window"):
        unet(sample, torch.tensor(999), torch.randn(2, 1, 768), pose_features=pose)
    return counter.get_total_flops()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[8, 24])
    parser.add_argument("--sizes", nargs="+", default=["256x192", "768x512"], help="HEIGHTxWIDTH in pixels")
    args = parser.parse_args()
    print("| frames | size (HxW) | full pass (TFLOP) | reuse pass (TFLOP) | reuse / full | every 2 steps / full |\n"
          "|---|---|---|---|---|---|")
    with torch.device("meta"):
        unet = denoising_unet_from_2d(UNet2DConditionModel(**SD15_UNET2D_CONFIG))
        install_reference_reader(unet, ReferenceBank())
        cache = DeepFeatureCache(unet)
        for size in args.sizes:
            height, width = (int(side) for side in size.split("x"))
            for frames in args.frames:
                full = pass_flops(unet, cache, frames, height, width, reuse=False)
                reuse = pass_flops(unet, cache, frames, height, width, reuse=True)
                print(f"| {frames} | {height}x{width} | {full / 1e12:.3f} | {reuse / 1e12:.3f} | {reuse / full:.3f} | "
                      f"{(full + reuse) / 2 / full:.3f} |", flush=True)


if __name__ == "__main__":
    main()
