"""Training datasets over a prepared dataset folder (DESIGN §5).

Folder layout (written by `animate-anyone data prepare`):

    DATASET_DIR/meta.json        [{"video": "videos/a.mp4", "pose": "kps/a_kps.mp4", "num_frames": 120,
                                   "bytes": [video size, pose size]}, ...]   (decoded frame count, cached)
    DATASET_DIR/videos/*.mp4
    DATASET_DIR/kps/*_kps.mp4    rendered pose videos (or "pose": "poses/a.npz", keypoints rendered on the fly)

Every sample is a pure function of `(seed, index)`: the index picks the video (a fresh permutation of the
videos per epoch, `index // len(videos)`) and seeds the frame choice and the crop. So data order and
augmentation are the same whatever the number of workers or processes, and resuming at step `s`
means starting at index `s x global batch` (`ResumableSampler`). Only the frames a sample needs are
decoded and kept (`read_video_frames(indices=...)`), never a whole video.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset, Sampler

from animate_anyone.data.video_io import count_frames, read_video_frames
from animate_anyone.errors import InputError
from animate_anyone.models.clip_input import clip_pixels

META_FILE = "meta.json"


@dataclass(frozen=True)
class DatasetEntry:
    video: Path
    pose: Path  # a rendered pose video, or a keypoint .npz
    num_frames: int


def meta_entry(root: Path, video: Path, pose: Path, num_frames: int) -> dict:
    """The meta.json entry of `video` and its `pose` (inside `root`), whose decoded frame count is `num_frames`.

    The count is cached with the two files' sizes: `load_dataset_entries` trusts it while the sizes
    match and counts again (by decoding) when a file has changed.
    """
    return {"video": video.relative_to(root).as_posix(), "pose": pose.relative_to(root).as_posix(),
            "num_frames": int(num_frames), "bytes": [video.stat().st_size, pose.stat().st_size]}


def _pose_frames(pose: Path) -> int:
    if pose.suffix.lower() == ".npz":
        from animate_anyone.pose.keypoints import KeypointSequence

        return len(KeypointSequence.load(pose))
    return count_frames(pose)


def _entry_frames(item: dict, video: Path, pose: Path, meta_path: Path, verify: bool) -> int:
    """Frame count of a video and its poses: meta.json's cached decoded count while both files are the
    ones it was counted on, else both counted by decoding, which must agree (an `InputError` if not)."""
    for path in (video, pose):
        if not path.is_file():
            raise InputError(f"{meta_path} lists {path}, which does not exist")
    cached = item.get("num_frames")
    if cached is not None and (not verify or item.get("bytes") == [video.stat().st_size, pose.stat().st_size]):
        return int(cached)
    video_frames, pose_frames = count_frames(video), _pose_frames(pose)
    if video_frames != pose_frames:
        raise InputError(f"frame counts differ: {video} has {video_frames} frames, its poses {pose} {pose_frames}")
    if video_frames < 1:
        raise InputError(f"{video} has no frames")
    if cached is not None and int(cached) != video_frames:
        raise InputError(f"{meta_path} says {video} has {cached} frames; it has {video_frames}")
    return video_frames


def load_dataset_entries(root: str | os.PathLike, verify: bool = True) -> list[DatasetEntry]:
    """Entries of `root/meta.json`. Frame counts are decoded counts (`count_frames`, as `data prepare`
    counts them): the cached one while the files are unchanged (same sizes as when counted); with
    `verify`, files that changed or have no cached count are decoded and their counts checked."""
    root = Path(root)
    meta_path = root / META_FILE
    if not meta_path.is_file():
        raise InputError(f"not a dataset folder (no {META_FILE}): {root}  (make one with `animate-anyone data prepare`)")
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as error:
        raise InputError(f"{meta_path} is not valid JSON: {error}") from None
    if not isinstance(meta, list) or not all(isinstance(item, dict) and {"video", "pose"} <= item.keys()
                                             for item in meta):
        raise InputError(f"{meta_path} must be a list of {{\"video\": ..., \"pose\": ...}} objects")
    if not meta:
        raise InputError(f"dataset {root} is empty: {meta_path} lists no videos")
    entries = []
    for item in meta:
        video, pose = root / item["video"], root / item["pose"]
        entries.append(DatasetEntry(video, pose, _entry_frames(item, video, pose, meta_path, verify)))
    return entries


# ----------------------------------------------------------------------------- augmentation
def random_crop_box(size: tuple[int, int], output_size: tuple[int, int], scale_min: float,
                    rng: np.random.Generator) -> tuple[float, float, float, float]:
    """A crop (left, top, right, bottom) of `size` (W, H), normalised to [0, 1], with the output's aspect.

    Its sides are a random fraction in [scale_min, 1] of the largest such crop, at a random position.
    The same normalised box is applied to the reference, the targets and their poses.
    """
    (width, height), (out_w, out_h) = size, output_size
    full_w, full_h = (height * out_w / out_h, height) if width * out_h > height * out_w else (width, width * out_h / out_w)
    scale = rng.uniform(scale_min, 1.0)
    crop_w, crop_h = full_w * scale, full_h * scale
    left, top = rng.uniform(0, width - crop_w), rng.uniform(0, height - crop_h)
    return left / width, top / height, (left + crop_w) / width, (top + crop_h) / height


def crop_resize(frame: np.ndarray, box: tuple[float, float, float, float], output_size: tuple[int, int]) -> Image.Image:
    """Crop an (H, W, 3) uint8 frame to the normalised `box` and resize it to `output_size` (W, H)."""
    height, width = frame.shape[:2]
    pixel_box = (box[0] * width, box[1] * height, box[2] * width, box[3] * height)
    return Image.fromarray(frame).resize(output_size, Image.BILINEAR, box=pixel_box)


def to_tensor(image: Image.Image) -> torch.Tensor:
    """(3, H, W) float in [0, 1]."""
    return torch.from_numpy(np.asarray(image, dtype=np.float32) / 255).permute(2, 0, 1)


# ----------------------------------------------------------------------------- datasets
class AnimationDataset(Dataset):
    """Reference frame + target frames + their poses, cut from the dataset's videos.

    Items (C, F, H, W): `reference` (3, H, W) in [-1, 1]; `clip` (3, S, S) CLIP-normalised;
    `target` (3, F, H, W) in [-1, 1]; `pose` (3, F, H, W) in [0, 1]. Any index >= 0 is valid
    (later epochs); `len()` is one epoch. Subclasses choose the frames.
    """

    def __init__(self, entries: list[DatasetEntry], width: int, height: int, seed: int = 0,
                 clip_size: int = 224, crop_scale_min: float = 0.9):
        if not entries:
            raise InputError("the dataset has no usable videos")
        self.entries = entries
        self.output_size = (width, height)
        self.seed = seed
        self.clip_size = clip_size
        self.crop_scale_min = crop_scale_min

    def __len__(self) -> int:
        return len(self.entries)

    def pick_frames(self, num_frames: int, rng: np.random.Generator) -> tuple[int, list[int]]:
        """(reference index, target indices) in a video of `num_frames` frames."""
        raise NotImplementedError

    @functools.lru_cache(maxsize=4)
    def _epoch_order(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.seed, epoch, 0x5EED]).permutation(len(self.entries))

    def entry_of(self, index: int) -> DatasetEntry:
        return self.entries[self._epoch_order(index // len(self.entries))[index % len(self.entries)]]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if index < 0:
            raise IndexError(f"negative sample index {index}")
        entry = self.entry_of(index)
        rng = np.random.default_rng([self.seed, index])
        reference_index, target_indices = self.pick_frames(entry.num_frames, rng)
        wanted = sorted({reference_index, *target_indices})
        frames = dict(zip(wanted, read_video_frames(entry.video, indices=wanted)))
        poses = dict(zip(target_indices, read_pose_frames(entry.pose, target_indices)))
        reference_frame = frames[reference_index]
        box = random_crop_box((reference_frame.shape[1], reference_frame.shape[0]), self.output_size,
                              self.crop_scale_min, rng)
        reference = crop_resize(reference_frame, box, self.output_size)
        targets = torch.stack([to_tensor(crop_resize(frames[i], box, self.output_size)) for i in target_indices], 1)
        pose = torch.stack([to_tensor(crop_resize(poses[i], box, self.output_size)) for i in target_indices], 1)
        return {
            "reference": to_tensor(reference) * 2 - 1,
            "clip": clip_pixels(reference, self.clip_size),
            "target": targets * 2 - 1,
            "pose": pose,
        }


class ReferenceTargetPairs(AnimationDataset):
    """Stage 1: a (reference, target) frame pair of one video, drawn uniformly among the pairs at least
    `min_gap` frames apart; in a video too short for that, among all pairs of different frames."""

    def __init__(self, *args, min_gap: int = 30, **kwargs):
        super().__init__(*args, **kwargs)
        self.min_gap = min_gap

    def pick_frames(self, num_frames: int, rng: np.random.Generator) -> tuple[int, list[int]]:
        gap = self.min_gap if num_frames > self.min_gap else 1
        if num_frames <= gap:  # a one-frame video: the frame is its own reference
            return 0, [0]
        frames = np.arange(num_frames)
        partners = np.maximum(frames - gap + 1, 0) + np.maximum(num_frames - frames - gap, 0)
        target = int(rng.choice(num_frames, p=partners / partners.sum()))
        candidates = frames[np.abs(frames - target) >= gap]
        return int(candidates[rng.integers(len(candidates))]), [target]


class ReferenceClips(AnimationDataset):
    """Stage 2: `num_frames` frames every `sample_rate` frames from a random start, and a random
    reference frame of the same video. Videos shorter than `num_frames` are left out; shorter than
    the clip's span, the rate is lowered to fit."""

    def __init__(self, entries: list[DatasetEntry], *args, num_frames: int = 24, sample_rate: int = 4, **kwargs):
        usable = [entry for entry in entries if entry.num_frames >= num_frames]
        if entries and not usable:
            raise InputError(f"no video has the {num_frames} frames a stage-2 clip needs "
                             f"(longest: {max(entry.num_frames for entry in entries)})")
        super().__init__(usable, *args, **kwargs)
        self.skipped = [entry.video for entry in entries if entry.num_frames < num_frames]
        self.num_frames = num_frames
        self.sample_rate = sample_rate

    def pick_frames(self, num_frames: int, rng: np.random.Generator) -> tuple[int, list[int]]:
        rate = min(self.sample_rate, (num_frames - 1) // max(self.num_frames - 1, 1)) or 1
        span = (self.num_frames - 1) * rate + 1
        start = int(rng.integers(num_frames - span + 1))
        return int(rng.integers(num_frames)), [start + k * rate for k in range(self.num_frames)]


def read_pose_frames(path: Path, indices: list[int]) -> list[np.ndarray]:
    """Pose images (H, W, 3) uint8 at `indices` (any order, repeats allowed): decoded or rendered."""
    wanted = sorted(set(indices))
    if path.suffix.lower() == ".npz":
        from animate_anyone.pose.keypoints import KeypointSequence
        from animate_anyone.pose.render import render_pose

        sequence = KeypointSequence.load(path)
        if wanted[-1] >= len(sequence):
            raise InputError(f"{path} has {len(sequence)} frames, frame {wanted[-1]} was asked for")
        size = (sequence.width, sequence.height)
        images = {i: render_pose(sequence.frame(i), size) for i in wanted}
    else:
        images = dict(zip(wanted, read_video_frames(path, indices=wanted)))
    return [images[i] for i in indices]


class ResumableSampler(Sampler[int]):
    """Endless global sample indices for one process, from micro-step `start_micro_step`.

    Micro-step m, process p, batch slot j -> index (m x processes + p) x batch_size + j: every process
    reads its own samples, and a run resumed at micro-step m sees exactly what it would have seen.
    """

    def __init__(self, batch_size: int, process_index: int = 0, num_processes: int = 1, start_micro_step: int = 0):
        self.batch_size, self.process_index, self.num_processes = batch_size, process_index, num_processes
        self.start_micro_step = start_micro_step

    def __iter__(self) -> Iterator[int]:
        micro_step = self.start_micro_step
        while True:
            first = (micro_step * self.num_processes + self.process_index) * self.batch_size
            yield from range(first, first + self.batch_size)
            micro_step += 1
