"""Validation during training: generate from a fixed dataset sample, as reference | pose | generated."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from animate_anyone.data.dataset import DatasetEntry, read_pose_frames, crop_resize
from animate_anyone.data.video_io import read_video_frames
from animate_anyone.pipelines.pipeline_animate_anyone import AnimateAnyonePipeline

CENTRE = (0.5, 0.5)


@dataclass
class ValidationSample:
    reference: Image.Image
    poses: list[Image.Image]


def _centre_box(size: tuple[int, int], output_size: tuple[int, int]) -> tuple[float, float, float, float]:
    """The largest centred crop of `size` (W, H) with the output's aspect, normalised."""
    (width, height), (out_w, out_h) = size, output_size
    crop_w, crop_h = (height * out_w / out_h, height) if width * out_h > height * out_w else (width, width * out_h / out_w)
    left, top = (width - crop_w) / 2 / width, (height - crop_h) / 2 / height
    return left, top, left + crop_w / width, top + crop_h / height


def validation_sample(entry: DatasetEntry, num_frames: int, stride: int, first_pose: int,
                      output_size: tuple[int, int]) -> ValidationSample:
    """Reference: the video's first frame; poses: `num_frames` frames every `stride` from `first_pose`
    (moved back to fit the video); centre-cropped to the output aspect and resized."""
    stride = max(1, min(stride, (entry.num_frames - 1) // max(num_frames - 1, 1)))
    span = (num_frames - 1) * stride + 1
    first = max(0, min(first_pose, entry.num_frames - span))
    indices = [min(first + k * stride, entry.num_frames - 1) for k in range(num_frames)]
    reference = read_video_frames(entry.video, indices=[0])[0]
    box = _centre_box((reference.shape[1], reference.shape[0]), output_size)
    poses = [crop_resize(pose, box, output_size) for pose in read_pose_frames(entry.pose, indices)]
    return ValidationSample(crop_resize(reference, box, output_size), poses)


def generate(pipeline: AnimateAnyonePipeline, sample: ValidationSample, num_inference_steps: int,
             guidance_scale: float, seed: int) -> np.ndarray:
    """(F, H, W, 3) uint8 generated frames."""
    width, height = sample.reference.size
    frames = pipeline(sample.reference, sample.poses, height=height, width=width,
                      num_inference_steps=num_inference_steps, guidance_scale=guidance_scale,
                      generator=torch.Generator().manual_seed(seed), output_type="np").frames[0]
    return (np.clip(frames, 0, 1) * 255).round().astype(np.uint8)


def side_by_side(sample: ValidationSample, frames: np.ndarray) -> np.ndarray:
    """(F, H, 3W, 3) uint8: reference | pose | generated, per frame."""
    reference = np.asarray(sample.reference.convert("RGB"))
    return np.stack([np.concatenate([reference, np.asarray(pose.convert("RGB")), frame], axis=1)
                     for pose, frame in zip(sample.poses, frames)])
