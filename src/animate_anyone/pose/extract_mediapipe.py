"""The `mediapipe` pose backend: legacy Holistic mapped to OpenPose-18 body, 2×21 hands, 68 face points.

mediapipe 0.10.14 (pinned in the `pose` extra) ships the Holistic graph and the models it runs at
`model_complexity=1` inside its wheel; other complexities would download a model at run time, so
only 1 is used, and the bundled files are checked before the graph starts.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from animate_anyone.errors import InputError
from animate_anyone.pose.keypoints import NUM_BODY, NUM_FACE, NUM_HAND, FrameKeypoints, missing_points
from animate_anyone.pose.native_stderr import quiet_native_logs

# Model files the Holistic graph loads at model_complexity=1 (paths inside the mediapipe package).
BUNDLED_MODELS = (
    "modules/pose_detection/pose_detection.tflite",
    "modules/pose_landmark/pose_landmark_full.tflite",
    "modules/holistic_landmark/hand_recrop.tflite",
    "modules/hand_landmark/hand_landmark_full.tflite",
    "modules/face_detection/face_detection_short_range.tflite",
    "modules/face_landmark/face_landmark.tflite",
)
# BlazePose-33 index of each OpenPose-18 joint (MediaPipe Pose landmark list); None: the neck, which
# OpenPose places between the shoulders. MediaPipe's left/right are the person's, as OpenPose's are.
BLAZEPOSE_FOR_OPENPOSE = (0, None, 12, 14, 16, 11, 13, 15, 24, 26, 28, 23, 25, 27, 5, 2, 8, 7)
LEFT_SHOULDER, RIGHT_SHOULDER = 11, 12
# Face-mesh (468) vertex for each of the 68 iBUG points: the table used by LatentSync 1.5
# (ByteDance, Apache-2.0) and others; jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, lips 48-67.
FACE_MESH_FOR_IBUG68 = (
    162, 234, 93, 58, 172, 136, 149, 148, 152, 377, 378, 365, 397, 288, 323, 454, 389,
    71, 63, 105, 66, 107, 336, 296, 334, 293, 301,
    168, 197, 5, 4, 75, 97, 2, 326, 305,
    33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,
    61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181, 78, 82, 13, 312, 308, 317, 14, 87,
)
# Hands: MediaPipe's 21 hand landmarks are in the OpenPose hand order already.
# Images where nobody is found are tried again on a border of their own edge colour, this share of
# their size on every side: drawn figures that fill the frame (head or feet at the edge) are then
# found (benchmarks/bench_drawn_detection.py, docs/poses.md).
PAD_SHARE = 0.25
# ...and before that, shrunk to this long side (keypoints are normalised, so they need no mapping back):
# large flat-shaded figures are found more often at this size.
SMALL_SIDE = 256


def pad_to_border(image: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """`image` centred on a border of its median edge colour (PAD_SHARE of its size each side), and
    the (left, top) offset of the image in it."""
    height, width = image.shape[:2]
    left, top = round(width * PAD_SHARE), round(height * PAD_SHARE)
    edges = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    padded = np.empty((height + 2 * top, width + 2 * left, 3), np.uint8)
    padded[:] = np.median(edges, axis=0).astype(np.uint8)
    padded[top:top + height, left:left + width] = image
    return padded, (left, top)


def unpad(frame: FrameKeypoints, offset: tuple[int, int], size: tuple[int, int],
          padded_size: tuple[int, int]) -> FrameKeypoints:
    """Keypoints found in a padded image, normalised to the (width, height) `size` of the original."""
    scale = np.array(padded_size, np.float32) / np.array(size, np.float32)
    shift = np.array(offset, np.float32) / np.array(size, np.float32)

    def moved(points: np.ndarray) -> np.ndarray:
        points = points.copy()
        points[..., :2] = points[..., :2] * scale - shift
        return points

    return FrameKeypoints(body=moved(frame.body), hands=moved(frame.hands), face=moved(frame.face))


def _import_mediapipe():
    try:
        import mediapipe
    except ImportError:
        raise InputError("the mediapipe pose backend needs the pose extra: "
                         "pip install 'animate_anyone[pose]'") from None
    root = Path(mediapipe.__file__).parent
    absent = [name for name in BUNDLED_MODELS if not (root / name).is_file()]
    if absent:
        raise InputError(f"mediapipe {mediapipe.__version__} at {root} lacks its bundled Holistic models "
                         f"({', '.join(absent)}); install the pinned mediapipe==0.10.14")
    return mediapipe


class MediaPipeHolisticExtractor:
    """Callable: RGB uint8 image → `FrameKeypoints` of the person Holistic finds, or None."""

    def __init__(self, static_image_mode: bool = True, min_detection_confidence: float = 0.5,
                 fallbacks: bool = True):
        """`fallbacks`: for single images (`static_image_mode`) where nobody is found, retry shrunk to
        SMALL_SIDE, then on a padded border (`pad_to_border`); video frames are never retried (the
        graph tracks between frames)."""
        mediapipe = _import_mediapipe()
        self.fallbacks = fallbacks and static_image_mode
        # Our own smoothing runs afterwards (pose.smooth), without lag; MediaPipe's would add lag.
        with quiet_native_logs():
            self._holistic = mediapipe.solutions.holistic.Holistic(
                static_image_mode=static_image_mode, model_complexity=1, smooth_landmarks=False,
                refine_face_landmarks=False, min_detection_confidence=min_detection_confidence,
            )
            # The graph loads its models on its own threads, which log as they go: one blank frame
            # waits for all of them, so that their lines are written inside this block, not later.
            self._process(np.zeros((64, 64, 3), np.uint8))

    def __call__(self, image: np.ndarray) -> FrameKeypoints | None:
        frame = self.detect(image)
        if frame is None and self.fallbacks:
            frame = self.detect_small(image)
        if frame is None and self.fallbacks:
            frame = self.detect_padded(image)
        return frame

    def detect_small(self, image: np.ndarray) -> FrameKeypoints | None:
        height, width = image.shape[:2]
        if max(height, width) <= SMALL_SIDE:
            return None
        scale = SMALL_SIDE / max(height, width)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        return self.detect(np.asarray(Image.fromarray(image).resize(size, Image.BOX)))

    def detect_padded(self, image: np.ndarray) -> FrameKeypoints | None:
        padded, offset = pad_to_border(image)
        frame = self.detect(padded)
        size, padded_size = (image.shape[1], image.shape[0]), (padded.shape[1], padded.shape[0])
        return None if frame is None else unpad(frame, offset, size, padded_size)

    def detect(self, image: np.ndarray) -> FrameKeypoints | None:
        """One Holistic pass over `image`, no fallbacks."""
        with quiet_native_logs():  # a subgraph that starts late logs then
            result = self._process(np.ascontiguousarray(image))
        if result.pose_landmarks is None:
            return None
        return FrameKeypoints(
            body=_openpose_body(result.pose_landmarks.landmark),
            hands=np.stack([_hand(result.left_hand_landmarks), _hand(result.right_hand_landmarks)]),
            face=_face(result.face_landmarks),
        )

    def _process(self, image: np.ndarray):
        with warnings.catch_warnings():  # protobuf 4 deprecation raised inside mediapipe 0.10.14
            warnings.filterwarnings("ignore", message=r"SymbolDatabase\.GetPrototype", category=UserWarning)
            return self._holistic.process(image)

    def close(self) -> None:
        with quiet_native_logs():
            self._holistic.close()


def _openpose_body(landmarks) -> np.ndarray:
    blaze = np.array([(p.x, p.y, p.visibility) for p in landmarks], dtype=np.float32)  # (33, 3)
    body = np.empty((NUM_BODY, 3), dtype=np.float32)
    for joint, index in enumerate(BLAZEPOSE_FOR_OPENPOSE):
        if index is None:
            shoulders = blaze[[LEFT_SHOULDER, RIGHT_SHOULDER]]
            body[joint] = (*shoulders[:, :2].mean(axis=0), shoulders[:, 2].min())
        else:
            body[joint] = blaze[index]
    body[:, 2] = np.clip(body[:, 2], 0, 1)
    return body


def _hand(landmarks) -> np.ndarray:
    """(21, 3); Holistic gives no per-point confidence, so a found hand's points have confidence 1."""
    if landmarks is None:
        return missing_points(NUM_HAND)
    return np.array([(p.x, p.y, 1.0) for p in landmarks.landmark], dtype=np.float32)


def _face(landmarks) -> np.ndarray:
    if landmarks is None:
        return missing_points(NUM_FACE)
    mesh = landmarks.landmark
    return np.array([(mesh[i].x, mesh[i].y, 1.0) for i in FACE_MESH_FOR_IBUG68], dtype=np.float32)
