"""Inference: the Animate Anyone pipeline and its temporal windows.

The names below are imported on first use: the pipeline pulls in diffusers (seconds on 2 cores), which
`pipelines.loading`'s folder checks and the web page's first paint do without.
"""

import importlib

_HOME = {"AnimateAnyonePipeline": "pipeline_animate_anyone", "AnimateAnyonePipelineOutput": "output",
         "context_windows": "context"}
__all__ = list(_HOME)


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
