"""The plain label in the container: that a video is AI-generated, by whom, with which model and settings.

Written as two mp4 tags that every player and `ffprobe` shows: `comment`, one sentence for people,
and `description`, the same facts as JSON for programs (`LABEL_SCHEMA` names its format).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import av

from animate_anyone import __version__
from animate_anyone.provenance import watermark

GENERATOR = "animate_anyone"
LABEL_SCHEMA = "animate_anyone.label/v1"
CHUNK = 1 << 20


@dataclass(frozen=True)
class Label:
    """What a generated video says about itself."""

    model: str  # the model's folder name (or `tiny-random`)
    model_sha256: str  # `model_fingerprint` of its files (or weights)
    seed: int
    settings: dict = field(default_factory=dict)  # generation settings: size, frames, fps, steps, guidance...

    def facts(self) -> dict:
        """The label as JSON-able facts (without the watermark line, which the writer adds)."""
        return {"schema": LABEL_SCHEMA, "ai_generated": True, "generator": GENERATOR, "version": __version__,
                "model": self.model, "model_sha256": self.model_sha256, "seed": self.seed,
                "settings": self.settings}

    def payload(self) -> int:
        """The watermark payload: a 24-bit hash of the model, seed and settings."""
        facts = {key: value for key, value in self.facts().items() if key not in ("schema", "version")}
        return watermark.payload_of(json.dumps(facts, sort_keys=True, default=str))

    def tags(self, watermarked: bool) -> dict[str, str]:
        """The mp4 tags: `comment` for people, `description` (JSON) for programs."""
        facts = self.facts()
        facts["watermark"] = ({"key": watermark.PROJECT_ID, "payload": f"{self.payload():06x}"}
                              if watermarked else None)
        sentence = (f"AI-generated video: made by {GENERATOR} {__version__} (Animate Anyone character animation) "
                    f"with the model {self.model}, seed {self.seed}"
                    + (", with an invisible watermark" if watermarked else "") + ". Details in the description tag.")
        return {"comment": sentence, "description": json.dumps(facts, sort_keys=True, default=str)}


def model_identity(model: str | os.PathLike | None, pipeline) -> tuple[str, str]:
    """(name, sha256) of the model `load_pipeline(model, ...)` loaded as `pipeline`: the folder's name and
    `model_fingerprint`, or for `tiny-random` (built in memory) the `weights_fingerprint` of its weights."""
    from animate_anyone.pipelines.loading import SHIPPED_MODEL, SHIPPED_MODEL_DIR, TINY_RANDOM

    if str(model) == TINY_RANDOM:
        return TINY_RANDOM, weights_fingerprint(pipeline.components)
    folder = SHIPPED_MODEL_DIR if model is None or str(model) == SHIPPED_MODEL else Path(model)
    return folder.resolve().name, model_fingerprint(folder)


def model_fingerprint(folder: str | os.PathLike) -> str:
    """SHA-256 over a model folder's files: each file's relative path and bytes, in sorted order."""
    folder = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        with path.open("rb") as file:
            while chunk := file.read(CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def weights_fingerprint(modules: dict) -> str:
    """SHA-256 over in-memory weights (a model built without files, e.g. tiny-random): the state dicts of
    the `torch.nn.Module` values of `modules` (e.g. `pipeline.components`), names, dtypes and bytes."""
    import torch

    digest = hashlib.sha256()
    for name in sorted(modules):
        if not isinstance(modules[name], torch.nn.Module):
            continue
        for key, tensor in sorted(modules[name].state_dict().items()):
            digest.update(f"{name}.{key}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
            digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def read_label(path: str | os.PathLike) -> dict | None:
    """The label's facts from a video's tags, or None when it has none (or not ours).

    Raises `av.error.FFmpegError` when the file cannot be opened (the caller reports it)."""
    with av.open(str(path)) as container:
        description = container.metadata.get("description")
    if not description:
        return None
    try:
        facts = json.loads(description)
    except json.JSONDecodeError:
        return None
    return facts if isinstance(facts, dict) and facts.get("schema") == LABEL_SCHEMA else None
