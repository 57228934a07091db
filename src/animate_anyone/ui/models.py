"""The models the web UI offers: each loaded once, on first use or by a warm-up, and kept in memory."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import torch

from animate_anyone.pipelines.loading import SHIPPED_MODEL, TINY_RANDOM, generation_defaults


@dataclass(frozen=True)
class ModelDefaults:
    """What the page proposes for a model: its size, steps and guidance."""

    width: int
    height: int
    steps: int
    guidance: float


TINY_RANDOM_DEFAULTS = ModelDefaults(32, 32, steps=4, guidance=2.0)


def model_defaults(source: str) -> ModelDefaults:
    """The model's own generation defaults (its generation_defaults.json, as `animate` uses them)."""
    if source == TINY_RANDOM:
        return TINY_RANDOM_DEFAULTS
    defaults = generation_defaults(source)
    return ModelDefaults(defaults["width"], defaults["height"], defaults["num_inference_steps"],
                         defaults["guidance_scale"])


@dataclass
class ModelEntry:
    name: str  # what the page shows
    source: str  # what load_pipeline takes and the CLI's --model
    defaults: ModelDefaults
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    pipeline: object | None = field(default=None, repr=False)


class ModelShelf:
    """Named models on one device, in one dtype; `get(name)` loads a model the first time only."""

    def __init__(self, sources: list[str], device: torch.device, dtype: torch.dtype):
        self.device, self.dtype = device, dtype
        self.entries: dict[str, ModelEntry] = {}
        for source in sources:
            name = source if source in (SHIPPED_MODEL, TINY_RANDOM) else Path(source).resolve().name
            if name in self.entries:  # two folders of the same name: number the later ones
                name = f"{name} ({sum(entry.startswith(name) for entry in self.entries) + 1})"
            resolved = source if source in (SHIPPED_MODEL, TINY_RANDOM) else str(Path(source).resolve())
            self.entries[name] = ModelEntry(name, resolved, model_defaults(resolved))

    @property
    def names(self) -> list[str]:
        return list(self.entries)

    def get(self, name: str):
        """The loaded pipeline of `name` (InputError if its folder cannot be loaded)."""
        from diffusers.utils import logging as diffusers_logging
        from transformers.utils import logging as transformers_logging

        from animate_anyone.pipelines.loading import load_pipeline

        diffusers_logging.set_verbosity_error()  # as `animate` does: no loading bars or notes in the server log
        diffusers_logging.disable_progress_bar()
        transformers_logging.disable_progress_bar()
        entry = self.entries[name]
        with entry.lock:
            if entry.pipeline is None:
                entry.pipeline = load_pipeline(entry.source, self.device, self.dtype)
                scheduler = generation_defaults(entry.source)["scheduler"]
                if scheduler is not None:  # the model's default sampler, as `animate` takes it
                    from animate_anyone.pipelines.schedulers import scheduler_named

                    entry.pipeline.register_modules(scheduler=scheduler_named(scheduler, entry.pipeline.scheduler))
                entry.pipeline.set_progress_bar_config(disable=True)  # the page shows progress
            return entry.pipeline

    def check_folders(self) -> None:
        """Fail early, with one line, on a --model that is not a complete pipeline folder."""
        from animate_anyone.pipelines.loading import check_pipeline_folder

        for entry in self.entries.values():
            if entry.source not in (SHIPPED_MODEL, TINY_RANDOM):
                check_pipeline_folder(Path(entry.source))
