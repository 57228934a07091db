"""Load a pipeline by name or folder, on a device, in a precision."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from animate_anyone.checkpoints import load_pretrained
from animate_anyone.errors import InputError
from animate_anyone.pipelines.pipeline_animate_anyone import AnimateAnyonePipeline

TINY_RANDOM = "tiny-random"


def check_pipeline_folder(path: Path) -> None:
    """Fail with one clear line if `path` is not a complete pipeline folder."""
    index_path = path / "model_index.json"
    if not path.is_dir():
        raise InputError(f"model folder not found: {path}")
    if not index_path.is_file():
        raise InputError(f"{path} is not a pipeline folder (no model_index.json)")
    try:
        index = json.loads(index_path.read_text())
    except json.JSONDecodeError as error:
        raise InputError(f"{index_path} is not valid JSON: {error}") from None
    expected = ("vae", "image_encoder", "reference_net", "unet", "pose_guider", "scheduler")
    optional = [name for name in AnimateAnyonePipeline._optional_components if index.get(name) == [None, None]]
    missing = [name for name in expected
               if name not in optional and (name not in index or not (path / name).is_dir())]
    if missing:
        raise InputError(f"model folder {path} is missing component(s): {', '.join(missing)}")


def load_pipeline(model: str | os.PathLike, device: torch.device, dtype: torch.dtype) -> AnimateAnyonePipeline:
    """`tiny-random` (the tiny random test pipeline) or a `save_pretrained` folder."""
    if str(model) == TINY_RANDOM:
        from animate_anyone.testing import tiny_pipeline

        pipeline = tiny_pipeline(seed=0)
    else:
        path = Path(model)
        check_pipeline_folder(path)
        pipeline = load_pretrained(AnimateAnyonePipeline, path, "model")
    return pipeline.to(device=device, dtype=dtype)
