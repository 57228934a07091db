"""The keypoint sequence type and its .npz file format."""

from __future__ import annotations

import numpy as np
import pytest

from animate_anyone.errors import InputError
from animate_anyone.pose.keypoints import KeypointSequence, missing_points

from pose_fixtures import skeleton_sequence


def test_npz_round_trip_keeps_everything(tmp_path):
    sequence = skeleton_sequence(num_frames=7, fps=24.0, size=(512, 704))
    sequence.body[3, 5] = missing_points(1)[0]
    path = sequence.save(tmp_path / "poses.npz")
    loaded = KeypointSequence.load(path)
    np.testing.assert_array_equal(loaded.points(), sequence.points())
    assert (loaded.fps, loaded.width, loaded.height, len(loaded)) == (24.0, 512, 704, 7)
    assert sorted(np.load(path).files) == ["body", "faces", "fps", "hands", "height", "width"]


def test_flat_points_round_trip():
    sequence = skeleton_sequence(num_frames=3)
    assert sequence.points().shape == (3, 128, 3)
    np.testing.assert_array_equal(sequence.with_points(sequence.points()).hands, sequence.hands)


def save_arrays(path, **overrides):
    sequence = skeleton_sequence(num_frames=4)
    arrays = dict(body=sequence.body, hands=sequence.hands, faces=sequence.faces, fps=30.0, width=512, height=640)
    arrays.update(overrides)
    np.savez(path, **{name: value for name, value in arrays.items() if value is not None})
    return path


@pytest.mark.parametrize("overrides, message", [
    (dict(faces=None), "missing array"),
    (dict(body=np.zeros((4, 17, 3), np.float32)), "body must be a float array of shape"),
    (dict(hands=np.zeros((3, 2, 21, 3), np.float32)), "frame counts differ"),
    (dict(fps=0.0), "must be positive"),
    (dict(width=np.array([512, 512])), "must be numbers"),
    (dict(body=np.full((4, 18, 3), 2.0, np.float32)), r"confidences must lie in \[0, 1\]"),
])
def test_mismatched_npz_is_a_clear_error(tmp_path, overrides, message):
    path = save_arrays(tmp_path / "bad.npz", **overrides)
    with pytest.raises(InputError, match=message):
        KeypointSequence.load(path)


def test_unreadable_or_pickled_npz_is_a_clear_error(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="cannot read keypoint file"):
        KeypointSequence.load(tmp_path / "junk.npz")
    pickled = save_arrays(tmp_path / "pickled.npz", fps=np.array({"fps": 30}, dtype=object))
    with pytest.raises(InputError, match="cannot read keypoint file"):
        KeypointSequence.load(pickled)
    with pytest.raises(InputError, match="not found"):
        KeypointSequence.load(tmp_path / "absent.npz")
