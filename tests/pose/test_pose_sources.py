"""`--pose` inputs: rendered pose videos as they are; keypoint files and raw driving videos rendered."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest
from PIL import Image

from animate_anyone.data.video_io import load_image, write_video
from animate_anyone.errors import InputError
from animate_anyone.pose.sources import is_rendered_pose, load_pose_sequence

from pose_fixtures import skeleton_sequence


@pytest.fixture(scope="module")
def driving_video(tmp_path_factory, shared_dir):
    """A raw 'driving video': the man photo sliding sideways, with one frame of nobody."""
    photo = load_image(shared_dir / "reference" / "media" / "ref_man_photo.png").resize((256, 376))
    frames = [np.roll(np.asarray(photo), 3 * i, axis=1) for i in range(5)]
    frames[3] = np.full_like(frames[0], 128)
    path = tmp_path_factory.mktemp("driving") / "walk.mp4"
    write_video(path, np.stack(frames), fps=12)
    return path


def test_rendered_pose_video_is_read_as_it_is(media_dir, tmp_path):
    sequence = load_pose_sequence(media_dir / "dance1_kps.mp4", max_frames=3, width=256, height=256)
    assert len(sequence.images) == 3 and sequence.images[0].size == (512, 704) and sequence.fps == 30
    renamed = tmp_path / "dance.mp4"  # no _kps in the name: told by its mostly black frames
    shutil.copy(media_dir / "dance1_kps.mp4", renamed)
    assert is_rendered_pose(renamed)
    assert is_rendered_pose(media_dir / "pose1.png")
    assert not is_rendered_pose(media_dir / "ref_man_photo.png")


def test_keypoint_file_is_rendered_letterboxed_at_the_requested_size(tmp_path):
    path = skeleton_sequence(num_frames=4, size=(512, 1024), fps=24).save(tmp_path / "poses.npz")
    sequence = load_pose_sequence(path, max_frames=3, width=512, height=256)
    assert len(sequence.images) == 3 and sequence.fps == 24
    frame = np.asarray(sequence.images[0])
    assert frame.shape == (256, 512, 3)
    drawn_columns = np.flatnonzero(frame.max(axis=(0, 2)) > 0)
    assert drawn_columns.min() >= 192 and drawn_columns.max() < 320  # inside the 128-px centred band


def test_raw_driving_video_is_extracted_smoothed_and_aligned(driving_video, media_dir):
    reference = load_image(media_dir / "ref_anime_woman.png")
    with pytest.warns(UserWarning, match="no person found in 1 of 5 frames"):
        aligned = load_pose_sequence(driving_video, width=256, height=384, reference_image=reference)
    with pytest.warns(UserWarning, match="no person found in 1 of 5 frames"):
        plain = load_pose_sequence(driving_video, width=256, height=384, reference_image=reference, align=False)
    assert len(aligned.images) == 5 and aligned.fps == 12
    assert aligned.images[0].size == (256, 384)
    frames = np.stack([np.asarray(image) for image in aligned.images])
    assert (frames.reshape(5, -1).max(axis=1) > 0).all(), "the frame with nobody is filled, not blank"
    assert not np.array_equal(frames, np.stack([np.asarray(image) for image in plain.images]))


def test_reference_without_a_body_skips_alignment_with_a_warning(tmp_path):
    path = skeleton_sequence(num_frames=2).save(tmp_path / "poses.npz")
    blank = Image.new("RGB", (200, 300), (200, 200, 200))
    with pytest.warns(UserWarning, match="not aligned"):
        aligned = load_pose_sequence(path, reference_image=blank)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        unaligned = load_pose_sequence(path)
    np.testing.assert_array_equal(np.asarray(aligned.images[0]), np.asarray(unaligned.images[0]))


def test_bad_pose_inputs_are_clear_errors(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"x")
    with pytest.raises(InputError, match="cannot read keypoint file"):
        load_pose_sequence(tmp_path / "bad.npz")
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(InputError):
        load_pose_sequence(tmp_path / "empty.mp4")
    with pytest.raises(InputError, match="not found"):
        load_pose_sequence(tmp_path / "absent.mp4")
