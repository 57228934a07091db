"""Poses: keypoints, rendering to pose images, extraction, alignment, smoothing, pose inputs."""
