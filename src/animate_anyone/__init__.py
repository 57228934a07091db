"""animate_anyone: character animation with diffusion (Animate Anyone, Hu et al., 2023) on diffusers."""

from animate_anyone.models import AnimateAnyoneUNet, PoseGuider
from animate_anyone.pipelines import AnimateAnyonePipeline, AnimateAnyonePipelineOutput

__all__ = ["AnimateAnyonePipeline", "AnimateAnyonePipelineOutput", "AnimateAnyoneUNet", "PoseGuider"]
__version__ = "0.1.0"
