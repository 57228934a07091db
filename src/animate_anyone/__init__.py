"""animate_anyone: character animation with diffusion (Animate Anyone, Hu et al., 2023) on diffusers."""

from __future__ import annotations

import importlib

# Exported names and the module each comes from, imported on first use (PEP 562): importing the
# package, as the command line does before it parses its arguments, does not import torch.
_EXPORTS = {
    "AnimateAnyonePipeline": "animate_anyone.pipelines",
    "AnimateAnyonePipelineOutput": "animate_anyone.pipelines",
    "AnimateAnyoneUNet": "animate_anyone.models",
    "PoseGuider": "animate_anyone.models",
}
__all__ = sorted(_EXPORTS)
__version__ = "0.1.0"


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
