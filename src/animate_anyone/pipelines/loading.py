"""Load a pipeline by name or folder, on a device, in a precision.

Names: `tiny128` (the default), the model shipped inside the package (fp16 weights, trained by
`scripts/train_tiny128.sh` on procedural characters, docs/tiny-model.md), and `tiny-random`, the
untrained tiny test pipeline. Anything else is a `save_pretrained` folder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from animate_anyone.checkpoints import load_pretrained
from animate_anyone.errors import InputError
from animate_anyone.pipelines.pipeline_animate_anyone import AnimateAnyonePipeline

TINY_RANDOM = "tiny-random"
SHIPPED_MODEL = "tiny128"
SHIPPED_MODEL_SIZE = (128, 128)  # (width, height) it was trained at
SHIPPED_MODEL_DIR = Path(__file__).resolve().parent.parent / "shipped_model" / SHIPPED_MODEL


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


def load_pipeline(model: str | os.PathLike | None, device: torch.device, dtype: torch.dtype) -> AnimateAnyonePipeline:
    """The shipped model (`None` or `tiny128`), `tiny-random` or a `save_pretrained` folder, in `dtype`.

    A folder's weights are cast to `dtype` as they are read (`dtype`), tensor by tensor, so loading
    bf16 from an fp32 folder never holds the fp32 model in memory."""
    if str(model) == TINY_RANDOM:
        from animate_anyone.testing import tiny_pipeline

        return tiny_pipeline(seed=0).to(device=device, dtype=dtype)
    path = SHIPPED_MODEL_DIR if model is None or str(model) == SHIPPED_MODEL else Path(model)
    if path == SHIPPED_MODEL_DIR and not path.is_dir():
        raise InputError(f"the shipped model is missing from {path}: reinstall the package, or rebuild it "
                         "with scripts/train_tiny128.sh")
    check_pipeline_folder(path)
    return load_pretrained(AnimateAnyonePipeline, path, "model", dtype=dtype).to(device=device)
