"""Inference: the Animate Anyone pipeline and its temporal windows."""

from animate_anyone.pipelines.context import context_windows
from animate_anyone.pipelines.output import AnimateAnyonePipelineOutput
from animate_anyone.pipelines.pipeline_animate_anyone import AnimateAnyonePipeline

__all__ = ["AnimateAnyonePipeline", "AnimateAnyonePipelineOutput", "context_windows"]
