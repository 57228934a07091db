"""Poses: keypoints, rendering to pose images, extraction, alignment, smoothing, pose inputs."""

# Pose extractor backends (`pose.extract.create_extractor`), here so that the command line can list
# them without importing the extraction code.
BACKENDS = ("mediapipe", "dwpose")
DEFAULT_BACKEND = "mediapipe"
