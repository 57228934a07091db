"""Inputs and JOBS files for the batch tests (tiny random model, 32x48 pixels, 3 pose frames)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from animate_anyone.data.video_io import load_image, write_video

MODEL_OPTIONS = ["--model", "tiny-random", "--width", "32", "--height", "48", "--steps", "2"]


def pose_frames(num_frames: int = 3) -> np.ndarray:
    frames = np.zeros((num_frames, 48, 32, 3), np.uint8)
    for index in range(num_frames):
        frames[index, 8 + 3 * (index % 8): 40, 12:20] = (255, 0, 85)
    return frames


def write_inputs(folder: Path, num_frames: int = 3) -> None:
    """reference.png, poses/ (pose images), poses_kps.mp4, and broken_kps.mp4 (exists, not a video)."""
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray((np.random.RandomState(0).rand(48, 32, 3) * 255).astype(np.uint8)).save(folder / "reference.png")
    (folder / "poses").mkdir(exist_ok=True)
    for index, frame in enumerate(pose_frames(num_frames)):
        Image.fromarray(frame).save(folder / "poses" / f"{index:03d}.png")
    write_video(folder / "poses_kps.mp4", pose_frames(), fps=8)
    (folder / "broken_kps.mp4").write_text("not a video")


def write_jobs(path: Path, jobs: list[dict | str]) -> Path:
    path.write_text("".join((job if isinstance(job, str) else json.dumps(job)) + "\n" for job in jobs))
    return path


def job(output: str, pose: str = "poses", **options) -> dict:
    return {"reference": "reference.png", "pose": pose, "output": output, **options}


def hidden_files(folder: Path) -> list[Path]:
    """Temporary files (atomic writes name them `.NAME.XXXX.SUFFIX`) left anywhere under `folder`."""
    return [path for path in folder.rglob(".*") if path.is_file() and ".batch-state" not in path.parts]


def manifest_states(output_dir: Path) -> dict[str, str]:
    manifest = json.loads((output_dir / "manifest.json").read_text())
    return {entry["output"]: entry["state"] for entry in manifest["jobs"]}


# The 3-window video of the window-parallel test: 8 frames, windows of 4 overlapping by 1
# ([0, 4), [3, 7), [4, 8)), guided, 3 steps, 32x48.
WINDOWS_FRAMES = 8
WINDOWS_PIPELINE_OPTIONS = dict(height=48, width=32, num_inference_steps=3, guidance_scale=3.5, context_frames=4,
                                context_overlap=1, output_type="np")
WINDOWS_CLI_OPTIONS = ["--model", "tiny-random", "--width", "32", "--height", "48", "--steps", "3",
                       "--guidance", "3.5", "--context-frames", "4", "--context-overlap", "1", "--fps", "8",
                       "--dtype", "fp32"]  # the in-process pipeline it is compared with computes in fp32


def load_inputs(folder: Path) -> tuple[Image.Image, list[Image.Image]]:
    """The reference and pose images that `write_inputs` wrote, as the command line reads them."""
    return load_image(folder / "reference.png"), [load_image(path) for path in sorted((folder / "poses").iterdir())]
