"""Checkpoint folders of a training run: naming, finding the latest, atomic completion, rotation.

    OUTPUT_DIR/checkpoints/checkpoint-0001000/   accelerate state (model, optimizer, scheduler, RNG,
                                                 progress, EMA), config.yaml, pipeline/ (save_pretrained)

A checkpoint is written under a hidden temporary name and renamed when every process has finished,
so a killed run never leaves a half-written `checkpoint-*` that `--resume latest` would pick.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from animate_anyone.errors import InputError

CHECKPOINTS = "checkpoints"
_NAME = re.compile(r"^checkpoint-(\d+)$")


def checkpoint_root(output_dir: str | os.PathLike) -> Path:
    return Path(output_dir) / CHECKPOINTS


def checkpoint_path(output_dir: str | os.PathLike, step: int) -> Path:
    return checkpoint_root(output_dir) / f"checkpoint-{step:07d}"


def temporary_checkpoint_path(output_dir: str | os.PathLike, step: int) -> Path:
    return checkpoint_root(output_dir) / f".checkpoint-{step:07d}.partial"


def list_checkpoints(output_dir: str | os.PathLike) -> list[tuple[int, Path]]:
    """Complete checkpoints as (step, path), oldest first."""
    root = checkpoint_root(output_dir)
    if not root.is_dir():
        return []
    found = [(int(match.group(1)), path) for path in root.iterdir()
             if path.is_dir() and (match := _NAME.match(path.name))]
    return sorted(found)


def resolve_resume(output_dir: str | os.PathLike, resume: str | None) -> Path | None:
    """The checkpoint to resume from: `latest` (None when there is none yet) or a checkpoint folder."""
    if resume is None:
        return None
    if resume == "latest":
        checkpoints = list_checkpoints(output_dir)
        return checkpoints[-1][1] if checkpoints else None
    path = Path(resume)
    if not path.is_dir() or not (path / "progress.json").is_file():
        raise InputError(f"not a training checkpoint folder: {path}")
    return path


def finish_checkpoint(output_dir: str | os.PathLike, step: int) -> Path:
    """Rename the temporary folder of `step` into place (replacing an older one of the same step)."""
    final = checkpoint_path(output_dir, step)
    if final.exists():
        shutil.rmtree(final)
    os.replace(temporary_checkpoint_path(output_dir, step), final)
    return final


def rotate_checkpoints(output_dir: str | os.PathLike, keep: int | None) -> list[Path]:
    """Delete all but the `keep` newest complete checkpoints (and leftover partial ones); returns the deleted."""
    root = checkpoint_root(output_dir)
    deleted = [path for path in root.glob(".checkpoint-*.partial")] if root.is_dir() else []
    checkpoints = list_checkpoints(output_dir)
    if keep is not None and len(checkpoints) > keep:
        deleted += [path for _, path in checkpoints[:-keep]]
    for path in deleted:
        shutil.rmtree(path, ignore_errors=True)
    return deleted
