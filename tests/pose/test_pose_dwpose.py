"""The dwpose backend's pre/post-processing, run through onnxruntime on tiny hand-made ONNX models.

The models ignore their input and return fixed YOLOX / SimCC outputs whose decoded meaning is known,
so the test checks the box decoding, NMS, person choice, crop geometry and keypoint layout.
Real models: set ANIMATE_ANYONE_DWPOSE_DIR to a folder with yolox_l.onnx and dw-ll_ucoco_384.onnx.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from animate_anyone.errors import InputError
from animate_anyone.pose.extract import create_extractor, extract_from_image
from animate_anyone.pose.extract_dwpose import DWPoseExtractor
from animate_anyone.pose.keypoints import is_present

DETECTOR_SIZE = 64  # tiny YOLOX input: anchors 8×8 + 4×4 + 2×2 = 84
POSE_W, POSE_H = 24, 32  # tiny RTMPose input; SimCC bins are twice as many
IMAGE_W, IMAGE_H = 128, 96  # letterbox ratio into 64×64: 0.5


def constant_model(path: Path, input_name: str, input_shape: list[int], outputs: dict[str, np.ndarray]) -> Path:
    """An ONNX model returning fixed tensors (plus 0 × the input's mean, so the input is used)."""
    nodes = [helper.make_node("ReduceMean", [input_name], ["mean"], keepdims=0),
             helper.make_node("Mul", ["mean", "zero"], ["nothing"])]
    initializers = [numpy_helper.from_array(np.zeros((), np.float32), "zero")]
    graph_outputs = []
    for name, value in outputs.items():
        initializers.append(numpy_helper.from_array(value.astype(np.float32), f"{name}_value"))
        nodes.append(helper.make_node("Add", [f"{name}_value", "nothing"], [name]))
        graph_outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(value.shape)))
    graph_input = helper.make_tensor_value_info(input_name, TensorProto.FLOAT, input_shape)
    graph = helper.make_graph(nodes, "constant", [graph_input], graph_outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def yolox_row(stride_offset: int, stride: int, grid_width: int, cell: tuple[int, int], size: tuple[float, float],
              score: float, shift: tuple[float, float] = (0.5, 0.5)) -> tuple[int, np.ndarray]:
    """Index and raw (6,) output of one anchor predicting a person box of `size` at `cell` + `shift` (in cells)."""
    index = stride_offset + cell[1] * grid_width + cell[0]
    return index, np.array([*shift, np.log(size[0] / stride), np.log(size[1] / stride), score, 1.0])


@pytest.fixture
def tiny_models(tmp_path) -> tuple[Path, Path]:
    predictions = np.zeros((1, 84, 6))
    # in detector-input pixels: a big person centred at (28, 28), 20×40, score 0.9 ...
    for index, row in [yolox_row(0, 8, 8, (3, 3), (20, 40), 0.9),
                       # ... a duplicate of it, slightly shifted, weaker: removed by NMS ...
                       yolox_row(0, 8, 8, (4, 3), (22, 40), 0.85, shift=(-0.3, 0.5)),
                       # ... a small, more confident person: less prominent (area × score) ...
                       yolox_row(64, 16, 4, (3, 0), (8, 8), 0.99),
                       # ... and a box below the score threshold
                       yolox_row(80, 32, 2, (0, 1), (30, 30), 0.2)]:
        predictions[0, index] = row
    detector = constant_model(tmp_path / "yolox.onnx", "images", [1, 3, DETECTOR_SIZE, DETECTOR_SIZE],
                              {"output": predictions})
    simcc_x = np.zeros((1, 133, 2 * POSE_W))
    simcc_y = np.zeros((1, 133, 2 * POSE_H))
    simcc_x[0, :, POSE_W], simcc_y[0, :, POSE_H] = 0.9, 0.8  # every keypoint at the crop centre ...
    simcc_x[0, 5, :], simcc_y[0, 5, :] = 0, 0
    simcc_x[0, 5, 0], simcc_y[0, 5, 0] = 0.7, 0.7  # ... but the left shoulder at the crop's top-left
    simcc_x[0, 100, :] = 0  # a left-hand point with no response (score 0)
    pose = constant_model(tmp_path / "pose.onnx", "input", [1, 3, POSE_H, POSE_W],
                          {"simcc_x": simcc_x, "simcc_y": simcc_y})
    return detector, pose


def test_boxes_are_decoded_suppressed_and_ranked(tiny_models):
    extractor = DWPoseExtractor(*tiny_models)
    boxes = extractor.detect_people(np.zeros((IMAGE_H, IMAGE_W, 3), np.uint8))
    # detector pixels / 0.5: the big person is (56, 56) ± (20, 40) in the image
    np.testing.assert_allclose(boxes[0], [36, 16, 76, 96, 0.9], atol=1e-4)
    assert len(boxes) == 2, "duplicate suppressed, weak box dropped"
    assert boxes[1, 4] == pytest.approx(0.99)


def test_keypoints_map_back_through_the_padded_crop(tiny_models):
    extractor = create_extractor("dwpose", dwpose_detector=tiny_models[0], dwpose_model=tiny_models[1])
    keypoints = extract_from_image(np.zeros((IMAGE_H, IMAGE_W, 3), np.uint8), extractor)
    body = keypoints.body[0]
    # box 40×80 → ×1.25 → 50×100 → widened to the 3:4 input: 75×100, centred on (56, 56)
    centre, top_left = np.array([56, 56]) / (IMAGE_W, IMAGE_H), np.array([56 - 37.5, 56 - 50]) / (IMAGE_W, IMAGE_H)
    np.testing.assert_allclose(body[0, :2], centre, atol=1e-6)  # nose
    np.testing.assert_allclose(body[5, :2], top_left, atol=1e-6)  # COCO 5 = OpenPose l-shoulder
    np.testing.assert_allclose(body[1, :2], (centre + top_left) / 2, atol=1e-6)  # neck = mid-shoulders
    assert body[0, 2] == pytest.approx(0.8) and body[5, 2] == pytest.approx(0.7) and body[1, 2] == pytest.approx(0.7)
    hand_points = keypoints.hands[0].reshape(42, 3)
    responding = np.arange(42) != 100 - 91
    np.testing.assert_allclose(hand_points[responding, :2], np.broadcast_to(centre, (41, 2)), atol=1e-6)
    assert not is_present(hand_points[100 - 91]), "a point without response is not present"
    assert keypoints.faces.shape == (1, 68, 3)


def test_missing_or_wrong_model_files_are_clear_errors(tiny_models, tmp_path):
    detector, pose = tiny_models
    with pytest.raises(InputError, match="detector model not found"):
        DWPoseExtractor(tmp_path / "absent.onnx", pose)
    with pytest.raises(InputError, match="needs --dwpose-detector"):
        create_extractor("dwpose")
    (tmp_path / "junk.onnx").write_bytes(b"junk")
    with pytest.raises(InputError, match="cannot load the DWPose pose model"):
        DWPoseExtractor(detector, tmp_path / "junk.onnx")
    swapped = DWPoseExtractor(pose, detector)  # the models given the wrong way round
    with pytest.raises(InputError, match="not YOLOX"):
        swapped(np.zeros((IMAGE_H, IMAGE_W, 3), np.uint8))


@pytest.mark.skipif(not os.environ.get("ANIMATE_ANYONE_DWPOSE_DIR"), reason="set ANIMATE_ANYONE_DWPOSE_DIR to run")
def test_real_dwpose_models_on_the_photo(shared_dir):
    from animate_anyone.data.video_io import load_image

    folder = Path(os.environ["ANIMATE_ANYONE_DWPOSE_DIR"])
    extractor = DWPoseExtractor(folder / "yolox_l.onnx", folder / "dw-ll_ucoco_384.onnx")
    photo = np.asarray(load_image(shared_dir / "reference" / "media" / "ref_man_photo.png"))
    body = extract_from_image(photo, extractor).body[0]
    assert is_present(body).all()
    assert body[0, 1] < body[1, 1] < body[8, 1] < body[9, 1] < body[10, 1]
    assert body[2, 0] < body[5, 0]
