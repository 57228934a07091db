"""Load a pipeline by name or folder, on a device, in a precision.

Names: `tiny128` (the default), the model shipped inside the package (fp16 weights, trained by
`scripts/train_tiny128.sh` on procedural characters, docs/tiny-model.md), and `tiny-random`, the
untrained tiny test pipeline. Anything else is a `save_pretrained` folder.

A pipeline folder may carry the generation settings its model is made for, in
`generation_defaults.json` at its root ({"width", "height", "num_inference_steps", "guidance_scale",
"scheduler"}, any subset): the shipped model's (128x128, UniPC, 8 steps, guidance 2.0), those `convert`
writes for the published checkpoints (512x768, UniPC, 8 steps, 3.5). The sampler and steps are the
fewest steps whose held-out quality stays within 2 % of 25 DDIM steps (docs/benchmarks.md); the
folder's own scheduler (`scheduler/`, DDIM for the published models) stays what
`AnimateAnyonePipeline.from_pretrained` gives, so the diffusers pipeline and the conformance fixture
are unchanged. `generation_defaults` reads them; the command line and the web page take them for every
option left unset, and `BUILT_IN_DEFAULTS` for what a folder omits (no scheduler: the folder's own).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from animate_anyone.errors import InputError
from animate_anyone.pipelines.components import COMPONENTS, OPTIONAL_COMPONENTS

if TYPE_CHECKING:
    from animate_anyone.pipelines.pipeline_animate_anyone import AnimateAnyonePipeline

TINY_RANDOM = "tiny-random"
SHIPPED_MODEL = "tiny128"
SHIPPED_MODEL_DIR = Path(__file__).resolve().parent.parent / "shipped_model" / SHIPPED_MODEL
DEFAULTS_FILE = "generation_defaults.json"
BUILT_IN_DEFAULTS = {"width": 512, "height": 768, "num_inference_steps": 25, "guidance_scale": 3.5,
                     "scheduler": None}
# What `convert` writes into the folders of converted published checkpoints (SD-1.5-size models
# trained at about 512x768): written out, so that such a folder says what it is made for.
PUBLISHED_DEFAULTS = dict(BUILT_IN_DEFAULTS, num_inference_steps=8, scheduler="unipc")


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
    optional = [name for name in OPTIONAL_COMPONENTS if index.get(name) == [None, None]]
    missing = [name for name in COMPONENTS
               if name not in optional and (name not in index or not (path / name).is_dir())]
    if missing:
        raise InputError(f"model folder {path} is missing component(s): {', '.join(missing)}")


def model_folder(model: str | os.PathLike | None) -> Path | None:
    """The folder of a model name or path; None for `tiny-random`, which has none."""
    if str(model) == TINY_RANDOM:
        return None
    return SHIPPED_MODEL_DIR if model is None or str(model) == SHIPPED_MODEL else Path(model)


def generation_defaults(model: str | os.PathLike | None) -> dict:
    """width, height, num_inference_steps, guidance_scale and scheduler (a `--scheduler` name, or None:
    the folder's own) for `model`: its folder's `generation_defaults.json` where it has one,
    `BUILT_IN_DEFAULTS` for the rest."""
    defaults = dict(BUILT_IN_DEFAULTS)
    folder = model_folder(model)
    path = None if folder is None else folder / DEFAULTS_FILE
    if path is None or not path.is_file():
        return defaults
    try:
        values = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise InputError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(values, dict) or not set(values) <= set(BUILT_IN_DEFAULTS):
        raise InputError(f"{path} must be an object with keys among {', '.join(BUILT_IN_DEFAULTS)}")
    for key, value in values.items():
        if key == "scheduler":
            if value is not None:
                from animate_anyone.pipelines.schedulers import scheduler_entry  # diffusers: only when needed

                if not isinstance(value, str):
                    raise InputError(f"{path}: scheduler must be a sampler's name or null, got {value!r}")
                try:
                    scheduler_entry(value)
                except InputError as error:
                    raise InputError(f"{path}: {error}") from None
            defaults[key] = value
            continue
        kind = float if key == "guidance_scale" else int
        if isinstance(value, bool) or not isinstance(value, (int, float)) or kind(value) != value or value <= 0:
            raise InputError(f"{path}: {key} must be a positive {kind.__name__}, got {value!r}")
        defaults[key] = kind(value)
    return defaults


def write_generation_defaults(folder: str | os.PathLike, defaults: dict) -> Path:
    """Write `defaults` (keys of `BUILT_IN_DEFAULTS`) as the folder's `generation_defaults.json`."""
    unknown = set(defaults) - set(BUILT_IN_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown generation defaults: {', '.join(sorted(unknown))}")
    path = Path(folder) / DEFAULTS_FILE
    path.write_text(json.dumps(defaults, indent=1) + "\n")
    return path


def load_pipeline(model: str | os.PathLike | None, device: torch.device, dtype: torch.dtype,
                  weights_on_demand: bool = False) -> AnimateAnyonePipeline:
    """The shipped model (`None` or `tiny128`), `tiny-random` or a `save_pretrained` folder, in `dtype`.

    A folder's weights are cast to `dtype` as they are read (`dtype`), tensor by tensor, so loading
    bf16 from an fp32 folder never holds the fp32 model in memory. `weights_on_demand` (a folder, on
    the CPU): each model holds its weights only while it runs (`pipelines.folder_offload`)."""
    if weights_on_demand and (str(model) == TINY_RANDOM or device.type != "cpu"):
        raise InputError("weights on demand (--low-memory) read a model folder on the CPU "
                         "(on a GPU, model CPU offload is the lever)")
    if str(model) == TINY_RANDOM:
        from animate_anyone.testing import tiny_pipeline

        return tiny_pipeline(seed=0).to(device=device, dtype=dtype)
    path = SHIPPED_MODEL_DIR if model is None or str(model) == SHIPPED_MODEL else Path(model)
    if path == SHIPPED_MODEL_DIR and not path.is_dir():
        raise InputError(f"the shipped model is missing from {path}: reinstall the package, or rebuild it "
                         "with scripts/train_tiny128.sh")
    check_pipeline_folder(path)
    from animate_anyone.checkpoints import load_pretrained  # diffusers: seconds, only when a model loads
    from animate_anyone.pipelines.pipeline_animate_anyone import AnimateAnyonePipeline

    if weights_on_demand:
        return load_pretrained(AnimateAnyonePipeline, path, "model", dtype=dtype, weights_on_demand=True)
    return load_pretrained(AnimateAnyonePipeline, path, "model", dtype=dtype).to(device=device)
