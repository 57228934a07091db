"""Evaluation: the metrics of the Animate Anyone paper (UBC Fashion and TikTok tables).

`metrics` holds plain distance functions over tensors; `lpips`, `inception`, `i3d` and `resnet3d`
hold the feature-extractor networks (weights only from local files, see `weights`); `evaluate`
matches two folders of videos and builds the per-video table. docs/evaluation.md has the protocol.
"""

# Metric names (here, not in `evaluate`, so that the command line lists them without importing torch).
FRAME_METRICS = ("l1", "psnr", "psnr_star", "ssim", "lpips_vgg", "lpips_alex")
SET_METRICS = ("fid", "fid_vid", "fvd")
ALL_METRICS = FRAME_METRICS + SET_METRICS
METRICS_WITHOUT_WEIGHTS = ("l1", "psnr", "psnr_star", "ssim")
