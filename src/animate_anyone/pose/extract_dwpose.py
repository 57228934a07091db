"""The `dwpose` pose backend: YOLOX person detector + DWPose (RTMPose whole-body) through onnxruntime.

The two ONNX files are given by path (the public `yolox_l.onnx` and `dw-ll_ucoco_384.onnx`); nothing
is downloaded. Input sizes are read from the models. With several people, the one with the largest
box area × detection score is kept.

Pre/post-processing constants are those of the DWPose ONNX inference code (IDEA-Research/DWPose,
`annotator/dwpose/onnxdet.py`, `onnxpose.py`, `wholebody.py`, Apache-2.0): YOLOX gets the BGR image
letterboxed into its input (top-left, padding 114, no normalisation), boxes decoded on strides
8/16/32, person score = objectness × class-0 score > 0.3, NMS IoU 0.45; RTMPose gets the box enlarged
×1.25 and widened to the input aspect ratio, warped to the input, normalised with the ImageNet
mean/std (RGB order, as mmpose trains it), and SimCC outputs decoded by argmax / split ratio.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from animate_anyone.errors import InputError
from animate_anyone.pose.keypoints import FrameKeypoints

YOLOX_STRIDES = (8, 16, 32)
YOLOX_PAD_VALUE = 114
PERSON_SCORE_THRESHOLD = 0.3
NMS_IOU_THRESHOLD = 0.45
BOX_PADDING = 1.25
POSE_MEAN = np.array([123.675, 116.28, 103.53], dtype=np.float32)  # RGB
POSE_STD = np.array([58.395, 57.12, 57.375], dtype=np.float32)
# COCO-WholeBody-133 layout: body 0-16, feet 17-22, face 23-90, left hand 91-111, right hand 112-132.
COCO_FOR_OPENPOSE = (0, None, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3)  # None: the neck
COCO_LEFT_SHOULDER, COCO_RIGHT_SHOULDER = 5, 6
FACE, LEFT_HAND, RIGHT_HAND = slice(23, 91), slice(91, 112), slice(112, 133)
NUM_WHOLEBODY = 133


def _session(path: str | os.PathLike, role: str):
    path = Path(path)
    if not path.is_file():
        raise InputError(f"DWPose {role} model not found: {path}")
    try:
        import onnxruntime
    except ImportError:
        raise InputError("the dwpose backend needs onnxruntime: pip install 'animate_anyone[pose]'") from None
    try:
        return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own exception types for unreadable models
        raise InputError(f"cannot load the DWPose {role} model {path}: {error}") from None


def _input_size(session, default: tuple[int, int], role: str) -> tuple[int, int]:
    """(W, H) of a (1, 3, H, W) model input; `default` where the model leaves it dynamic."""
    shape = session.get_inputs()[0].shape
    if len(shape) != 4 or shape[1] != 3:
        raise InputError(f"the DWPose {role} model takes {shape}, not a (1, 3, H, W) image")
    height, width = shape[2:]
    return (width, height) if isinstance(width, int) and isinstance(height, int) else default


class DWPoseExtractor:
    """Callable: RGB uint8 image → `FrameKeypoints` of the most prominent person, or None."""

    def __init__(self, detector_path: str | os.PathLike, pose_path: str | os.PathLike):
        self._detector = _session(detector_path, "detector")
        self._pose = _session(pose_path, "pose")
        self._detector_size = _input_size(self._detector, (640, 640), "detector")
        self._pose_size = _input_size(self._pose, (288, 384), "pose")

    def __call__(self, image: np.ndarray) -> FrameKeypoints | None:
        boxes = self.detect_people(image)
        if len(boxes) == 0:
            return None
        keypoints, scores = self.estimate_wholebody(image, boxes[0, :4])
        return _openpose_layout(keypoints, scores, width=image.shape[1], height=image.shape[0])

    def close(self) -> None:
        self._detector = self._pose = None

    def detect_people(self, image: np.ndarray) -> np.ndarray:
        """Person boxes (N, 5) = x0, y0, x1, y1, score in image pixels, most prominent first."""
        input_w, input_h = self._detector_size
        ratio = min(input_w / image.shape[1], input_h / image.shape[0])
        resized_w, resized_h = int(image.shape[1] * ratio), int(image.shape[0] * ratio)
        padded = np.full((input_h, input_w, 3), YOLOX_PAD_VALUE, dtype=np.uint8)
        padded[:resized_h, :resized_w] = cv2.resize(image[..., ::-1], (resized_w, resized_h),
                                                    interpolation=cv2.INTER_LINEAR)
        batch = padded.transpose(2, 0, 1)[None].astype(np.float32)  # (1, 3, H, W) BGR 0..255
        (predictions,) = self._detector.run(None, {self._detector.get_inputs()[0].name: batch})[:1]
        boxes = _decode_yolox(predictions[0], input_w, input_h) / np.array([ratio] * 4 + [1])
        boxes = boxes[boxes[:, 4] > PERSON_SCORE_THRESHOLD]
        boxes = boxes[_nms(boxes, NMS_IOU_THRESHOLD)]
        prominence = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) * boxes[:, 4]
        return boxes[np.argsort(-prominence, kind="stable")]

    def estimate_wholebody(self, image: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """133 COCO-WholeBody keypoints (133, 2) in image pixels and their scores (133,) in one box."""
        input_w, input_h = self._pose_size
        center = (box[:2] + box[2:4]) / 2
        box_w, box_h = (box[2:4] - box[:2]) * BOX_PADDING
        aspect = input_w / input_h
        size = np.array([box_w, box_w / aspect] if box_w > box_h * aspect else [box_h * aspect, box_h])
        zoom = input_w / size[0]  # the same on both axes once the aspect ratio is fixed
        origin = center - size / 2
        warp = np.array([[zoom, 0, -origin[0] * zoom], [0, zoom, -origin[1] * zoom]], dtype=np.float64)
        crop = cv2.warpAffine(image, warp, (input_w, input_h), flags=cv2.INTER_LINEAR)
        batch = ((crop.astype(np.float32) - POSE_MEAN) / POSE_STD).transpose(2, 0, 1)[None]
        simcc_x, simcc_y = self._pose.run(None, {self._pose.get_inputs()[0].name: batch})[:2]
        if simcc_x.shape[1] != NUM_WHOLEBODY:
            raise InputError(f"the DWPose pose model predicts {simcc_x.shape[1]} keypoints, not {NUM_WHOLEBODY}")
        split_ratio = simcc_x.shape[-1] / input_w  # 2.0 for the DWPose models
        locations = np.stack([simcc_x[0].argmax(-1), simcc_y[0].argmax(-1)], axis=-1) / split_ratio
        scores = np.minimum(simcc_x[0].max(-1), simcc_y[0].max(-1))
        return origin + locations / zoom, scores


def _decode_yolox(predictions: np.ndarray, input_w: int, input_h: int) -> np.ndarray:
    """(N, 5 + classes) raw YOLOX outputs → (N, 5) person boxes x0, y0, x1, y1, score in input pixels."""
    grids, strides = [], []
    for stride in YOLOX_STRIDES:
        xs, ys = np.meshgrid(np.arange(input_w // stride), np.arange(input_h // stride))
        grids.append(np.stack([xs, ys], axis=-1).reshape(-1, 2))
        strides.append(np.full((grids[-1].shape[0], 1), stride))
    grid, stride = np.concatenate(grids), np.concatenate(strides)
    if predictions.ndim != 2 or predictions.shape[0] != len(grid) or predictions.shape[1] < 6:
        raise InputError(f"the DWPose detector outputs {predictions.shape}, not YOLOX's ({len(grid)}, 5 + classes) "
                         f"for a {input_w}x{input_h} input")
    centers = (predictions[:, :2] + grid) * stride
    sizes = np.exp(predictions[:, 2:4]) * stride
    score = predictions[:, 4] * predictions[:, 5]  # objectness × person (class 0)
    return np.concatenate([centers - sizes / 2, centers + sizes / 2, score[:, None]], axis=1)


def _nms(boxes: np.ndarray, iou_threshold: float) -> list[int]:
    """Indices of the boxes kept by greedy non-maximum suppression, best score first."""
    order = list(np.argsort(-boxes[:, 4], kind="stable"))
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep = []
    while order:
        best, order = order[0], np.array(order[1:], dtype=int)
        keep.append(best)
        top_left = np.maximum(boxes[best, :2], boxes[order, :2])
        bottom_right = np.minimum(boxes[best, 2:4], boxes[order, 2:4])
        overlap = np.prod(np.clip(bottom_right - top_left, 0, None), axis=1)
        iou = overlap / (areas[best] + areas[order] - overlap)
        order = list(order[iou <= iou_threshold])
    return keep


def _openpose_layout(keypoints: np.ndarray, scores: np.ndarray, width: int, height: int) -> FrameKeypoints:
    """COCO-WholeBody-133 pixels + scores → OpenPose-18 body, [left, right] hands, 68 face, normalised."""
    points = np.concatenate([keypoints / (width, height), np.clip(scores, 0, 1)[:, None]], axis=1)
    points = points.astype(np.float32)
    body = np.empty((len(COCO_FOR_OPENPOSE), 3), dtype=np.float32)
    for joint, index in enumerate(COCO_FOR_OPENPOSE):
        if index is None:
            shoulders = points[[COCO_LEFT_SHOULDER, COCO_RIGHT_SHOULDER]]
            body[joint] = (*shoulders[:, :2].mean(axis=0), shoulders[:, 2].min())
        else:
            body[joint] = points[index]
    return FrameKeypoints(body, np.stack([points[LEFT_HAND], points[RIGHT_HAND]]), points[FACE])
