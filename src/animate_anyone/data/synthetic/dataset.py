"""Write synthetic clips as a training dataset folder, in the layout `animate-anyone data prepare` writes:

    DATASET_DIR/videos/synth_SEED.mp4       the rendered character
    DATASET_DIR/poses/synth_SEED.npz        its keypoints (KeypointSequence)
    DATASET_DIR/kps/synth_SEED_kps.mp4      its pose video (render_sequence of the keypoints)
    DATASET_DIR/meta.json                   [{"video", "pose", "num_frames", "bytes", "seed", "split"}, ...]

so the same trainer trains on it. "pose" names the pose video, as for prepared real data.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from animate_anyone.data.dataset import META_FILE, meta_entry
from animate_anyone.data.synthetic.clip import generate_clip
from animate_anyone.data.synthetic.seeds import split_seeds
from animate_anyone.data.video_io import atomic_output, write_video
from animate_anyone.errors import InputError

MIN_SIDE = 16


@dataclass
class SynthReport:
    output_dir: Path
    entries: list[dict] = field(default_factory=list)
    generate_seconds: float = 0.0  # making the clips (characters, motion, rendering, pose maps)
    write_seconds: float = 0.0  # encoding and writing files


def parse_size(text: str) -> tuple[int, int]:
    """'WxH' -> (W, H): even sides of at least 16 pixels (video frames need even sides)."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match:
        raise InputError(f"size must look like WIDTHxHEIGHT (e.g. 128x128), got {text!r}")
    width, height = int(match[1]), int(match[2])
    if width < MIN_SIDE or height < MIN_SIDE or width % 2 or height % 2:
        raise InputError(f"size sides must be even and at least {MIN_SIDE} pixels, got {width}x{height}")
    return width, height


def write_synthetic_dataset(output_dir: str | os.PathLike, num_characters: int, num_frames: int, width: int, height: int,
                            split: str = "train", first: int = 0, fps: float = 24.0,
                            progress: Callable[[str], None] | None = None) -> SynthReport:
    """Generate `num_characters` clips (the split's seeds from its `first`-th) into a new dataset folder."""
    if num_characters < 1:
        raise InputError(f"the number of characters must be at least 1, got {num_characters}")
    if num_frames < 1:
        raise InputError(f"the number of frames must be at least 1, got {num_frames}")
    if width < MIN_SIDE or height < MIN_SIDE or width % 2 or height % 2:
        raise InputError(f"size sides must be even and at least {MIN_SIDE} pixels, got {width}x{height}")
    if not fps > 0:
        raise InputError(f"fps must be positive, got {fps}")
    seeds = split_seeds(split, num_characters, first)
    output_dir = Path(output_dir)
    if (output_dir / META_FILE).exists():
        raise InputError(f"{output_dir} is already a dataset ({META_FILE} exists): choose a new output folder")
    for sub in ("videos", "poses", "kps"):
        (output_dir / sub).mkdir(parents=True, exist_ok=True)
    report = SynthReport(output_dir)
    for seed in seeds:
        name = f"synth_{seed:07d}"
        if progress is not None:
            progress(name)
        start = time.perf_counter()
        clip = generate_clip(seed, num_frames, width, height, fps)
        poses = clip.pose_maps()
        middle = time.perf_counter()
        write_video(output_dir / "videos" / f"{name}.mp4", clip.frames, fps=fps)
        clip.keypoints.save(output_dir / "poses" / f"{name}.npz")
        write_video(output_dir / "kps" / f"{name}_kps.mp4", poses, fps=fps)
        report.generate_seconds += middle - start
        report.write_seconds += time.perf_counter() - middle
        entry = meta_entry(output_dir, output_dir / "videos" / f"{name}.mp4", output_dir / "kps" / f"{name}_kps.mp4",
                           num_frames)
        report.entries.append(entry | {"seed": seed, "split": split})
    with atomic_output(output_dir / META_FILE) as temp_path:
        temp_path.write_text(json.dumps(report.entries, indent=1) + "\n")
    return report
