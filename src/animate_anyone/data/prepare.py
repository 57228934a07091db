"""Build a training dataset folder from a folder of videos (DESIGN §5).

    DATASET_DIR/videos/NAME.mp4     the videos, copied (or symlinked)
    DATASET_DIR/kps/NAME_kps.mp4    rendered pose videos: from --pose-dir, or extracted and rendered
    DATASET_DIR/poses/NAME.npz      keypoints, when extracted here
    DATASET_DIR/meta.json           [{"video", "pose", "num_frames", "bytes"}, ...]

Every video is checked (it decodes; its pose video has as many frames, both counted by decoding, the
count `train` then reads from meta.json); a bad one is skipped and
reported, and the others go on. No usable video at all is an `InputError`.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from animate_anyone.data.dataset import META_FILE, meta_entry
from animate_anyone.data.video_io import VIDEO_SUFFIXES, atomic_output, count_frames, video_info, write_video
from animate_anyone.errors import InputError

POSE_SUFFIX = "_kps"


@dataclass
class PrepareReport:
    output_dir: Path
    entries: list[dict] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # (video, reason)


def find_videos(videos_dir: Path) -> list[Path]:
    """Videos directly in `videos_dir`, sorted; rendered pose videos (`*_kps.*`) are not videos to train on."""
    if not videos_dir.is_dir():
        raise InputError(f"videos folder not found: {videos_dir}")
    return sorted(path for path in videos_dir.iterdir()
                  if path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES and not path.stem.endswith(POSE_SUFFIX))


def find_pose_video(pose_dir: Path, stem: str) -> Path:
    candidates = [pose_dir / f"{stem}{POSE_SUFFIX}{suffix}" for suffix in VIDEO_SUFFIXES]
    found = [path for path in candidates if path.is_file()]
    if not found:
        raise InputError(f"no pose video {stem}{POSE_SUFFIX}.mp4 in {pose_dir}")
    return found[0]


class PoseVideoMaker:
    """Extract keypoints from a video, fill gaps and smooth them as `animate` does for driving videos,
    save them (.npz) and render the pose video."""

    def __init__(self, backend: str = "mediapipe", **backend_options):
        from animate_anyone.pose.extract import create_extractor

        self.extractor = create_extractor(backend, video=True, **backend_options)

    def __call__(self, video: Path, keypoints_path: Path, pose_path: Path) -> int:
        from animate_anyone.pose.extract import extract_from_video
        from animate_anyone.pose.render import render_sequence
        from animate_anyone.pose.smooth import fill_gaps, smooth_keypoints

        sequence = smooth_keypoints(fill_gaps(extract_from_video(video, self.extractor)))
        sequence.save(keypoints_path)
        write_video(pose_path, render_sequence(sequence), fps=sequence.fps)
        return len(sequence)

    def close(self) -> None:
        self.extractor.close()


def _place(source: Path, destination: Path, symlink: bool) -> None:
    if destination.exists() or destination.is_symlink():
        destination.unlink()
    if symlink:
        destination.symlink_to(source.resolve())
    else:
        shutil.copy2(source, destination)


def prepare_dataset(videos_dir: str | os.PathLike, output_dir: str | os.PathLike, pose_dir: str | os.PathLike | None = None,
                    pose_maker: Callable[[Path, Path, Path], int] | None = None, symlink: bool = False,
                    progress: Callable[[str], None] | None = None) -> PrepareReport:
    """Write the dataset folder; poses from `pose_dir` (`NAME_kps.mp4`) or made by `pose_maker`."""
    videos_dir, output_dir = Path(videos_dir), Path(output_dir)
    videos = find_videos(videos_dir)
    if not videos:
        raise InputError(f"no videos ({', '.join(VIDEO_SUFFIXES)}) in {videos_dir}")
    if (pose_dir is None) == (pose_maker is None):
        raise ValueError("give exactly one of pose_dir and pose_maker")
    if (output_dir / META_FILE).exists():
        raise InputError(f"{output_dir} is already a dataset ({META_FILE} exists): choose a new output folder")
    for sub in ("videos", "kps") + (("poses",) if pose_maker else ()):
        (output_dir / sub).mkdir(parents=True, exist_ok=True)
    report = PrepareReport(output_dir)
    for video in videos:
        if progress is not None:
            progress(video.name)
        try:
            report.entries.append(_prepare_one(video, output_dir, pose_dir, pose_maker, symlink))
        except InputError as error:
            report.skipped.append((video, str(error)))
    if not report.entries:
        reasons = "; ".join(f"{path.name}: {reason}" for path, reason in report.skipped)
        raise InputError(f"no usable video in {videos_dir} ({reasons})")
    with atomic_output(output_dir / META_FILE) as temp_path:
        temp_path.write_text(json.dumps(report.entries, indent=1) + "\n")
    return report


def _prepare_one(video: Path, output_dir: Path, pose_dir: str | os.PathLike | None,
                 pose_maker: Callable[[Path, Path, Path], int] | None, symlink: bool) -> dict:
    video_info(video)  # a clear error for files that are not videos
    num_frames = count_frames(video)
    if num_frames == 0:
        raise InputError(f"{video} has no frames")
    pose_path = output_dir / "kps" / f"{video.stem}{POSE_SUFFIX}.mp4"
    if pose_dir is not None:
        source = find_pose_video(Path(pose_dir), video.stem)
        pose_frames = count_frames(source)
        if pose_frames != num_frames:
            raise InputError(f"frame counts differ: {video.name} has {num_frames}, {source.name} {pose_frames}")
        pose_path = pose_path.with_suffix(source.suffix)
        _place(source, pose_path, symlink)
    else:
        pose_frames = pose_maker(video, output_dir / "poses" / f"{video.stem}.npz", pose_path)
        if pose_frames != num_frames:
            raise InputError(f"pose extraction gave {pose_frames} frames for the {num_frames} of {video.name}")
    target = output_dir / "videos" / video.name
    _place(video, target, symlink)
    return meta_entry(output_dir, target, pose_path, num_frames)
