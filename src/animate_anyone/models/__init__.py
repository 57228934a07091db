"""Model parts: Pose Guider, reference attention, the pose-conditioned motion UNet, builders."""

from animate_anyone.models.motion_unet import AnimateAnyoneUNet
from animate_anyone.models.pose_guider import PoseGuider

__all__ = ["AnimateAnyoneUNet", "PoseGuider"]
