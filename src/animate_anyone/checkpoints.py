"""Safe, strict loading of weight files.

Only safetensors or `torch.load(..., weights_only=True)`: a file that needs arbitrary unpickling is
refused and nothing in it runs. Loading into a module is strict: every missing, unexpected or
wrongly-shaped key is an error that lists them.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file
from torch import nn

from animate_anyone.errors import InputError

MAX_LISTED_KEYS = 20


def load_state_dict(path: str | os.PathLike, mmap: bool = False) -> dict[str, torch.Tensor]:
    """Tensors of a `.safetensors`, `.pth`, `.pt`, `.ckpt` or `.bin` file (a nested `state_dict` is unwrapped).

    `mmap`: map a `.pth` file's tensors from disk instead of reading them into memory (files in the
    legacy, pre-zip format are read as usual); they are paged in when used."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"weight file not found: {path}")
    if path.suffix == ".safetensors":
        try:
            return load_file(str(path))
        except (SafetensorError, OSError) as error:
            raise InputError(f"cannot read safetensors file {path}: {error}") from None
    try:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
        except RuntimeError as error:
            if not mmap or "mmap" not in str(error):
                raise
            state = torch.load(path, map_location="cpu", weights_only=True)  # legacy format: no mmap
    except pickle.UnpicklingError:
        raise InputError(
            f"refusing {path}: not a plain tensor checkpoint (damaged, or it needs arbitrary unpickling, "
            f"which could run code; nothing in it was run). Convert it to safetensors with a trusted tool"
        ) from None
    except Exception as error:  # torch raises many types for truncated or foreign files (KeyError, RuntimeError, ...)
        raise InputError(f"cannot read weight file {path} (truncated or not a checkpoint): {error!r}") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InputError(f"{path} is not a state dict of tensors")
    return state


def read_safetensors(paths: list[Path], dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
    """The tensors of safetensors files, each read (`pread`, not memory-mapped) and copied into memory of
    its own from PyTorch's allocator, floating ones cast to `dtype`: never more than one tensor beside
    the result, and the allocator's alignment (oneDNN picks kernels by alignment, so tensors at a
    file's offsets could round differently from the model that was saved)."""
    state = {}
    for path in paths:
        with safe_open(str(path), framework="pt", backend="pread") as file:
            for key in file.keys():
                tensor = file.get_tensor(key)
                cast = dtype if dtype is not None and tensor.is_floating_point() else tensor.dtype
                state[key] = tensor.to(cast, copy=True)
                del tensor
    return state


def check_safetensors_complete(path: Path) -> None:
    """Raise ValueError unless `path` holds every byte its safetensors header promises: a truncated file
    must fail when a model that reads its weights later (weights on demand) is loaded, not mid-video."""
    size = path.stat().st_size
    with open(path, "rb") as file:
        prefix = file.read(8)
        header_length = int.from_bytes(prefix, "little") if len(prefix) == 8 else size
        if 8 + header_length > size:
            raise ValueError(f"{path} is truncated or not a safetensors file")
        try:
            header = json.loads(file.read(header_length))
            data_end = max((entry["data_offsets"][1] for key, entry in header.items() if key != "__metadata__"),
                           default=0)
        except (ValueError, TypeError, KeyError, IndexError):
            raise ValueError(f"{path} has no valid safetensors header") from None
    if 8 + header_length + data_end > size:
        raise ValueError(f"{path} is truncated: {size} bytes of {8 + header_length + data_end}")


def safetensors_files(folder: Path, weights_name: str) -> list[Path]:
    """The files holding a model folder's weights: `weights_name`, or the shards its index names; empty if none."""
    single = folder / weights_name
    if single.is_file():
        return [single]
    index = folder / f"{weights_name}.index.json"
    if not index.is_file():
        return []
    return sorted({folder / shard for shard in json.loads(index.read_text())["weight_map"].values()})


def model_weight_files(cls, folder: Path) -> list[Path]:
    """The safetensors files of a diffusers or transformers model folder of class `cls` (empty if none)."""
    from diffusers import ModelMixin
    from diffusers.utils import SAFETENSORS_WEIGHTS_NAME
    from transformers import PreTrainedModel
    from transformers.utils import SAFE_WEIGHTS_NAME

    if issubclass(cls, ModelMixin):
        return safetensors_files(folder, SAFETENSORS_WEIGHTS_NAME)
    if issubclass(cls, PreTrainedModel):
        return safetensors_files(folder, SAFE_WEIGHTS_NAME)
    return []


def empty_model(cls, folder: Path) -> nn.Module:
    """A diffusers or transformers model of class `cls` configured by `folder`, its weights on the meta
    device (`accelerate.init_empty_weights`: no memory, no random initialisation)."""
    from accelerate import init_empty_weights
    from diffusers import ModelMixin

    with init_empty_weights():
        if issubclass(cls, ModelMixin):
            return cls.from_config(cls.load_config(folder))
        return cls._from_config(cls.config_class.from_pretrained(folder))


def load_model_folder(cls, folder: str | os.PathLike, dtype: torch.dtype | None = None) -> nn.Module | None:
    """A diffusers or transformers model of class `cls` from its folder (config + safetensors), in `dtype`,
    holding one copy of its weights while loading: built without memory (`empty_model`), then given the
    tensors as read (`read_safetensors`, strict). `dtype` None: diffusers' default dtype for diffusers
    models, the file's for transformers ones (as their `from_pretrained`). None where the folder has no
    safetensors weights (then the library's own `from_pretrained` is the way)."""
    from diffusers import ModelMixin

    folder = Path(folder)
    files = model_weight_files(cls, folder)
    if not files:
        return None
    model = empty_model(cls, folder)
    if dtype is None and issubclass(cls, ModelMixin):
        dtype = torch.get_default_dtype()
    load_strict(model, read_safetensors(files, dtype), str(folder), assign=True)
    return model.eval()


def load_pretrained(cls, path: str | os.PathLike, what: str, **kwargs):
    """`cls.from_pretrained(path, **kwargs)` (a diffusers/transformers model or pipeline folder), any failure
    to read it (missing or truncated files, wrong config) as one InputError."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"{what} folder not found: {path}")
    try:
        return cls.from_pretrained(path, **kwargs)
    except (OSError, ValueError, KeyError, SafetensorError) as error:
        raise InputError(f"cannot load the {what} from {path}: {str(error).splitlines()[0]}") from None


def _listed(keys: list[str]) -> str:
    shown = ", ".join(keys[:MAX_LISTED_KEYS])
    more = len(keys) - MAX_LISTED_KEYS
    return shown + (f" (+{more} more)" if more > 0 else "")


def strict_key_errors(expected: dict[str, torch.Size], given: dict[str, torch.Tensor]) -> list[str]:
    """Human-readable problems between expected key shapes and given tensors (empty when they match)."""
    missing = sorted(set(expected) - set(given))
    unexpected = sorted(set(given) - set(expected))
    mis_shaped = sorted(
        f"{key} {tuple(given[key].shape)} != {tuple(expected[key])}"
        for key in set(expected) & set(given)
        if tuple(given[key].shape) != tuple(expected[key])
    )
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing: {_listed(missing)}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected: {_listed(unexpected)}")
    if mis_shaped:
        problems.append(f"{len(mis_shaped)} wrongly shaped: {_listed(mis_shaped)}")
    return problems


def load_strict(module: nn.Module, state_dict: dict[str, torch.Tensor], what: str, assign: bool = False) -> None:
    """Load `state_dict` into `module`, or raise listing every mismatch. The tensors are copied into the
    module's (any float dtype, cast to the module's); with `assign`, they become the module's tensors
    (no copy, their own dtype: for a module built without memory, under `accelerate.init_empty_weights`)."""
    expected = {key: value.shape for key, value in module.state_dict().items()}
    problems = strict_key_errors(expected, state_dict)
    if problems:
        raise InputError(f"{what} does not match the model: " + "; ".join(problems))
    module.load_state_dict(state_dict, strict=True, assign=assign)
