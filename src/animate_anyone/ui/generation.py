"""One generation job's work: the pipeline run with progress and cancel, and what it leaves in its folder.

A job folder holds the inputs as used (`reference.*`, the driving input), `animation.mp4`,
`contact-sheet.png` and `settings.json`, whose `command` recreates the video from that folder with the
CLI (same model, device, dtype, seed and options). A job that fails or is cancelled removes its folder.
"""

from __future__ import annotations

import argparse
import json
import shlex
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from animate_anyone.cli.animate import driving_audio, generation_options, output_label
from animate_anyone.data.contact_sheet import contact_sheet
from animate_anyone.data.video_io import atomic_output, save_image
from animate_anyone.pipelines.loading import SHIPPED_MODEL
from animate_anyone.pose.sources import PoseSequence
from animate_anyone.provenance import write_generated_video
from animate_anyone.ui.jobs import Job

VIDEO_NAME, SHEET_NAME, SETTINGS_NAME = "animation.mp4", "contact-sheet.png", "settings.json"


@dataclass(frozen=True)
class Settings:
    """Everything that fixes a result; file names are relative to the job folder."""

    model: str  # what `--model` takes
    reference: str
    pose: str
    width: int
    height: int
    frames: int
    fps: float
    steps: int
    guidance: float
    seed: int
    context_frames: int
    context_overlap: int
    align: bool
    device: str
    dtype: str

    def command(self) -> list[str]:
        """The `animate-anyone animate` command that makes the same video, run in the job folder."""
        command = ["animate-anyone", "animate", "--reference", self.reference, "--pose", self.pose,
                   "--output", VIDEO_NAME, "--contact-sheet", SHEET_NAME]
        if self.model != SHIPPED_MODEL:
            command += ["--model", self.model]
        for flag, value in [("--width", self.width), ("--height", self.height), ("--frames", self.frames),
                            ("--fps", self.fps), ("--steps", self.steps), ("--guidance", self.guidance),
                            ("--seed", self.seed), ("--context-frames", self.context_frames),
                            ("--context-overlap", self.context_overlap), ("--device", self.device),
                            ("--dtype", self.dtype)]:
            command += [flag, str(value)]  # floats in full: the fps of a 30000/1001 video too
        return command + ([] if self.align else ["--no-align"])

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "command": shlex.join(self.command())}, indent=2)


def denoise(pipeline, job: Job, reference: Image.Image, poses: list[Image.Image], settings: Settings) -> np.ndarray | None:
    """The video as (F, H, W, 3) uint8, or None if the job was cancelled (it stops after the current step)."""
    def on_step_end(pipe, step: int, timestep, callback_kwargs: dict) -> dict:
        job.step_finished()
        if job.cancel_requested.is_set():
            pipe._interrupt = True  # diffusers' way: the pipeline skips the remaining steps
        return {}

    generator = torch.Generator(device="cpu").manual_seed(settings.seed)
    frames = pipeline(reference, poses, generator=generator, callback_on_step_end=on_step_end,
                      callback_on_step_end_tensor_inputs=[],
                      **generation_options(settings, settings.width, settings.height)).frames[0]  # batch-first
    if job.cancel_requested.is_set():
        return None
    return (np.clip(frames, 0, 1) * 255).round().astype(np.uint8)


def write_results(folder: Path, pipeline, video: np.ndarray, reference: Image.Image, poses: PoseSequence,
                  settings: Settings) -> list[Path]:
    """The video (through the provenance writer, as `animate` writes it: marked, labelled, with the driving
    video's sound), the contact sheet and the settings, each written whole or not at all."""
    as_cli_arguments = argparse.Namespace(**asdict(settings), scheduler=None)
    label = output_label(pipeline, as_cli_arguments, video.shape, settings.fps)
    audio = None if poses.driving_video is None else driving_audio(poses.driving_video, len(video), settings.fps)
    write_generated_video(folder / VIDEO_NAME, video, settings.fps, label, audio=audio)
    save_image(folder / SHEET_NAME,
               contact_sheet(reference, poses.images, [Image.fromarray(frame) for frame in video]))
    with atomic_output(folder / SETTINGS_NAME) as temp:
        temp.write_text(settings.to_json() + "\n")
    return [folder / VIDEO_NAME, folder / SHEET_NAME, folder / SETTINGS_NAME]
