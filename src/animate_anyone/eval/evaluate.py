"""Evaluate a folder of generated videos against a folder of ground-truth videos.

Videos are matched by file name without suffix. Per pair, frames are compared one to one (L1,
PSNR, PSNR*, SSIM, LPIPS) and network features are collected (Inception per frame for FID;
3D-ResNet-50 and I3D per 16-frame clip for FID-VID and FVD, the DisCo protocol that the Animate
Anyone TikTok table follows). Features are cached per video. Rules for mismatched pairs:

- frame counts differ: both videos are cut to the shorter length (the common first frames);
- sizes differ: generated frames are resized to the ground-truth size (bilinear, like DisCo's
  `cv2.resize`) and rounded back to uint8;
- clips: consecutive, non-overlapping 16-frame clips; a trailing partial clip is dropped, except
  that a video shorter than 16 frames gives one clip padded with its last frame.

Every rule that fires is written in the report's notes for that video.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from animate_anyone.data.video_io import VIDEO_SUFFIXES, atomic_output, iter_video_frames, video_info
from animate_anyone.errors import InputError
from animate_anyone.eval import ALL_METRICS, FRAME_METRICS, METRICS_WITHOUT_WEIGHTS, SET_METRICS, metrics
from animate_anyone.eval.weights import weight_path

CLIP_FRAMES = 16  # DisCo: GIFs of 16 frames, sample_duration 16
FVD_SIZE = 224  # I3D input (DisCo "FVD-3DInception")
FID_VID_SIZE = 112  # 3D ResNet-50 input (DisCo "FVD-3DRN50")
# Bump when anything that changes cached features changes (preprocessing, clip rule).
CACHE_VERSION = 1


@dataclass
class VideoPair:
    name: str
    generated: Path
    ground_truth: Path


@dataclass
class VideoResult:
    name: str
    frames: int
    values: dict[str, float]
    notes: list[str] = field(default_factory=list)


@dataclass
class EvaluationReport:
    metrics: list[str]
    videos: list[VideoResult]
    summary: dict[str, float]

    def to_markdown(self) -> str:
        """Per-video table and a mean row (set metrics appear only there)."""
        header = ["video", "frames", *self.metrics, "notes"]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for video in self.videos:
            cells = [_format(m, video.values.get(m)) for m in self.metrics]
            lines.append(f"| {video.name} | {video.frames} | " + " | ".join(cells) + f" | {'; '.join(video.notes)} |")
        total = sum(v.frames for v in self.videos)
        cells = [_format(m, self.summary.get(m)) for m in self.metrics]
        lines.append(f"| **mean** | {total} | " + " | ".join(cells) + " | |")
        return "\n".join(lines)

    def to_json(self) -> str:
        """The same content as JSON; non-finite numbers (PSNR of identical frames) as strings."""
        data = {
            "metrics": self.metrics,
            "videos": [
                {"name": v.name, "frames": v.frames, "values": _json_numbers(v.values), "notes": v.notes}
                for v in self.videos
            ],
            "mean": _json_numbers(self.summary),
        }
        return json.dumps(data, indent=2)


_FORMATS = {"l1": ".4e", "psnr": ".2f", "psnr_star": ".2f", "ssim": ".4f", "lpips_vgg": ".4f", "lpips_alex": ".4f"}


def _format(metric: str, value: float | None) -> str:
    return "—" if value is None else format(value, _FORMATS.get(metric, ".2f"))


def _json_numbers(values: dict[str, float]) -> dict[str, float | str]:
    return {k: (v if math.isfinite(v) else str(v)) for k, v in values.items()}


def parse_metrics(names: list[str] | None, weights_dir: str | Path | None) -> list[str]:
    """The requested metric names (comma lists allowed), checked; default: all, or those needing no weights."""
    if not names:
        return list(ALL_METRICS if weights_dir is not None else METRICS_WITHOUT_WEIGHTS)
    requested = [n.strip() for item in names for n in item.split(",") if n.strip()]
    unknown = [n for n in requested if n not in ALL_METRICS]
    if unknown:
        raise InputError(f"unknown metric(s) {', '.join(unknown)}; choose from {', '.join(ALL_METRICS)}")
    return list(dict.fromkeys(requested))


def match_videos(generated_dir: str | Path, ground_truth_dir: str | Path) -> list[VideoPair]:
    """Pairs of videos with the same name (suffix ignored) in the two folders; every video must have a match."""
    folders = {}
    for label, folder in (("generated", Path(generated_dir)), ("ground-truth", Path(ground_truth_dir))):
        if not folder.is_dir():
            raise InputError(f"{label} folder not found: {folder}")
        videos = {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file()}
        if not videos:
            raise InputError(f"no videos ({', '.join(VIDEO_SUFFIXES)}) in {label} folder {folder}")
        folders[label] = videos
    generated, ground_truth = folders["generated"], folders["ground-truth"]
    only_generated = sorted(set(generated) - set(ground_truth))
    only_truth = sorted(set(ground_truth) - set(generated))
    if only_generated or only_truth:
        parts = [f"{label}: {', '.join(names[:5])}{' ...' if len(names) > 5 else ''}"
                 for label, names in (("only generated", only_generated), ("only ground truth", only_truth)) if names]
        raise InputError("videos without a match by name (" + "; ".join(parts) + ")")
    return [VideoPair(name, generated[name], ground_truth[name]) for name in sorted(generated)]


def _to_tensor(frames: np.ndarray, device: torch.device) -> torch.Tensor:
    """(F, H, W, 3) uint8 → (F, 3, H, W) float32 in [0, 1]."""
    return torch.from_numpy(frames).to(device).permute(0, 3, 1, 2).float() / 255


def resize_bilinear(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    """(F, H, W, 3) uint8 → (F, height, width, 3) uint8, bilinear (half-pixel centres, no antialias)."""
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float()
    x = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def resize_bicubic_float(frames: np.ndarray, size: int) -> np.ndarray:
    """(F, H, W, 3) uint8 → (F, size, size, 3) float32 in [0, 1]: PIL bicubic per channel on floats, not
    re-quantised (clean-fid's "PIL bicubic" resizer, which DisCo uses before FID-VID and FVD)."""
    out = np.empty((len(frames), size, size, 3), np.float32)
    for i, frame in enumerate(frames):
        for c in range(3):
            channel = Image.fromarray(frame[:, :, c].astype(np.float32), mode="F")
            out[i, :, :, c] = np.asarray(channel.resize((size, size), Image.BICUBIC))
    return out / 255


def clip_ranges(num_frames: int) -> list[tuple[int, int]]:
    """[start, stop) of the 16-frame clips of a video (see the module docstring for the rule)."""
    if num_frames < CLIP_FRAMES:
        return [(0, num_frames)]
    return [(s, s + CLIP_FRAMES) for s in range(0, num_frames - CLIP_FRAMES + 1, CLIP_FRAMES)]


def clip_tensor(frames: np.ndarray, size: int, device: torch.device) -> torch.Tensor:
    """Frames (T <= 16, H, W, 3) uint8 → one clip (1, 3, 16, size, size) in [0, 1], padded with its last frame."""
    clip = resize_bicubic_float(frames, size)
    if len(clip) < CLIP_FRAMES:
        clip = np.concatenate([clip, np.repeat(clip[-1:], CLIP_FRAMES - len(clip), axis=0)])
    return torch.from_numpy(clip).to(device).permute(3, 0, 1, 2).unsqueeze(0)


@dataclass
class _FeatureNetwork:
    """One feature network: what it is called in the cache, what weights it has, how to run it."""

    name: str
    weights_id: str
    compute: Callable[[np.ndarray], np.ndarray]  # all frames of a video (F, H, W, 3) uint8 → (K, D)


class FeatureCache:
    """Per-video feature arrays in `.npz` files, keyed by the video file, the network and its weights."""

    def __init__(self, folder: str | Path | None) -> None:
        self.folder = Path(folder) if folder is not None else None

    def _path(self, video: Path, network: _FeatureNetwork, frames: int, size: tuple[int, int]) -> Path:
        stat = video.stat()
        key = json.dumps([CACHE_VERSION, str(video.resolve()), stat.st_size, stat.st_mtime_ns,
                          network.name, network.weights_id, frames, size])
        return self.folder / f"{video.stem}.{network.name}.{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"

    def features(self, video: Path, network: _FeatureNetwork, frames: np.ndarray) -> np.ndarray:
        """The network's features of `frames` (decoded from `video`), from the cache when present."""
        if self.folder is None:
            return network.compute(frames)
        path = self._path(video, network, len(frames), frames.shape[1:3])
        if path.is_file():
            with np.load(path, allow_pickle=False) as stored:
                return stored["features"]
        features = network.compute(frames)
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_output(path) as temp_path, open(temp_path, "wb") as handle:
            np.savez(handle, features=features)
        return features


def _weights_id(path: Path) -> str:
    stat = path.stat()
    return f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}"


def _build_networks(selected: list[str], weights_dir, device: torch.device) -> tuple[dict, dict]:
    """LPIPS models by metric name and feature networks by set-metric name, loaded from `weights_dir`."""
    from animate_anyone.eval.i3d import load_i3d
    from animate_anyone.eval.inception import load_fid_inception
    from animate_anyone.eval.lpips import load_lpips
    from animate_anyone.eval.resnet3d import load_resnet3d

    lpips = {m: load_lpips(weights_dir, m.removeprefix("lpips_")).to(device) for m in selected if m.startswith("lpips")}
    networks = {}
    if "fid" in selected:
        inception = load_fid_inception(weights_dir).to(device)
        networks["fid"] = _FeatureNetwork(
            "inception", _weights_id(weight_path(weights_dir, "inception")),
            lambda frames: _batched(inception, frames, lambda chunk: _to_tensor(chunk, device)),
        )
    for metric, network, loader, size in (("fid_vid", "resnet3d", load_resnet3d, FID_VID_SIZE),
                                          ("fvd", "i3d", load_i3d, FVD_SIZE)):
        if metric in selected:
            model = loader(weights_dir).to(device)
            networks[metric] = _FeatureNetwork(
                network, _weights_id(weight_path(weights_dir, network)),
                lambda frames, model=model, size=size: np.concatenate(
                    [model(clip_tensor(frames[a:b], size, device)).cpu().numpy() for a, b in clip_ranges(len(frames))]
                ),
            )
    return lpips, networks


def _batched(model: torch.nn.Module, frames: np.ndarray, prepare: Callable, batch: int = CLIP_FRAMES) -> np.ndarray:
    """Run a per-frame network over (F, H, W, 3) frames in batches → (F, D) float32."""
    return np.concatenate([model(prepare(frames[i : i + batch])).cpu().numpy() for i in range(0, len(frames), batch)])


def _read_pair(pair: VideoPair) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Both videos' frames (F, H, W, 3) uint8 after the frame-count and size rules, and the rules applied."""
    notes = []
    generated_info, truth_info = video_info(pair.generated), video_info(pair.ground_truth)
    generated = _read_frames(pair.generated, min(generated_info.num_frames, truth_info.num_frames))
    truth = _read_frames(pair.ground_truth, len(generated))
    generated = generated[: len(truth)]
    if generated_info.num_frames != truth_info.num_frames:
        notes.append(f"frames {generated_info.num_frames} generated vs {truth_info.num_frames} ground truth: "
                     f"first {len(truth)} compared")
    if generated.shape[1:3] != truth.shape[1:3]:
        notes.append(f"generated {generated.shape[2]}x{generated.shape[1]} resized to {truth.shape[2]}x{truth.shape[1]}")
        generated = resize_bilinear(generated, *truth.shape[1:3])
    return generated, truth, notes


def _read_frames(path: Path, count: int) -> np.ndarray:
    frames = [frame for _, frame in zip(range(count), iter_video_frames(path))]
    if not frames:
        raise InputError(f"no frames decoded from {path}")
    return np.stack(frames)


def _frame_values(generated: np.ndarray, truth: np.ndarray, selected: list[str], lpips: dict,
                  device: torch.device) -> dict[str, np.ndarray]:
    """Per-frame values (F,) of each selected frame metric, computed in 16-frame batches."""
    values: dict[str, list[np.ndarray]] = {m: [] for m in selected if m in FRAME_METRICS}
    for start in range(0, len(truth), CLIP_FRAMES):
        gen_u8, truth_u8 = generated[start : start + CLIP_FRAMES], truth[start : start + CLIP_FRAMES]
        gen, ref = _to_tensor(gen_u8, device), _to_tensor(truth_u8, device)
        for metric in values:
            if metric == "psnr_star":
                # DisCo reads frames with cv2 (BGR); the channel order does not change the mean.
                values[metric].append(metrics.psnr_star(gen_u8, truth_u8))
            elif metric in lpips:
                values[metric].append(lpips[metric](gen, ref).double().cpu().numpy())
            else:
                values[metric].append(getattr(metrics, metric)(gen, ref).cpu().numpy())
    return {m: np.concatenate(v) for m, v in values.items()}


def evaluate_folders(
    generated_dir: str | Path,
    ground_truth_dir: str | Path,
    metric_names: list[str] | None = None,
    weights_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    device: str | torch.device = "cpu",
    progress: Callable[[str], None] | None = None,
) -> EvaluationReport:
    """Match the folders, compute every selected metric, return the per-video table and the means.

    Frame metrics: per video, the mean over its compared frames; overall, the mean over all
    compared frames of all videos (DisCo pools frames the same way). Set metrics (FID over frames,
    FID-VID and FVD over 16-frame clips) compare all generated features with all ground-truth ones.
    """
    selected = parse_metrics(metric_names, weights_dir)
    pairs = match_videos(generated_dir, ground_truth_dir)
    device = torch.device(device)
    for metric in selected:  # fail on a missing weight file before any video is decoded
        for network in _networks_of(metric):
            weight_path(weights_dir, network)
    for pair in pairs:  # fail on an unreadable video before any work is done
        video_info(pair.generated), video_info(pair.ground_truth)
    lpips, networks = _build_networks(selected, weights_dir, device)
    cache = FeatureCache(cache_dir)

    results, per_frame = [], {m: [] for m in selected if m in FRAME_METRICS}
    features = {m: ([], []) for m in networks}
    for pair in pairs:
        if progress:
            progress(pair.name)
        generated, truth, notes = _read_pair(pair)
        values = _frame_values(generated, truth, selected, lpips, device)
        for metric, network in networks.items():
            features[metric][0].append(cache.features(pair.generated, network, generated))
            features[metric][1].append(cache.features(pair.ground_truth, network, truth))
        if len(truth) < CLIP_FRAMES and {"fid_vid", "fvd"} & set(selected):
            notes.append(f"{len(truth)} frames < {CLIP_FRAMES}: one clip padded with the last frame")
        for metric, frame_values in values.items():
            per_frame[metric].append(frame_values)
        results.append(VideoResult(pair.name, len(truth), {m: float(v.mean()) for m, v in values.items()}, notes))

    summary = {m: float(np.concatenate(v).mean()) for m, v in per_frame.items()}
    for metric, (generated_features, truth_features) in features.items():
        generated_features, truth_features = np.concatenate(generated_features), np.concatenate(truth_features)
        if min(len(generated_features), len(truth_features)) < 2:
            raise InputError(f"{metric} needs at least 2 {'frames' if metric == 'fid' else 'clips'} per side")
        summary[metric] = metrics.frechet_distance_of_features(generated_features, truth_features)
    return EvaluationReport(selected, results, summary)


def _networks_of(metric: str) -> tuple[str, ...]:
    """The weight files (keys of WEIGHT_FILES) a metric needs."""
    return {
        "lpips_vgg": ("vgg16", "lpips_vgg"),
        "lpips_alex": ("alexnet", "lpips_alex"),
        "fid": ("inception",),
        "fid_vid": ("resnet3d",),
        "fvd": ("i3d",),
    }.get(metric, ())


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/animate_anyone/eval_features (~/.cache/... when unset)."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "animate_anyone" / "eval_features"

