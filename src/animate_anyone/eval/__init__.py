"""Evaluation: the metrics of the Animate Anyone paper (UBC Fashion and TikTok tables).

`metrics` holds plain distance functions over tensors; `lpips`, `inception`, `i3d` and `resnet3d`
hold the feature-extractor networks (weights only from local files, see `weights`); `evaluate`
matches two folders of videos and builds the per-video table. docs/evaluation.md has the protocol.
"""
