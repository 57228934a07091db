"""`data synth`: the dataset layout the trainer reads, and one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from animate_anyone.cli import main
from animate_anyone.data.dataset import ReferenceClips, load_dataset_entries
from animate_anyone.data.synthetic import TEST_SEEDS, generate_clip
from animate_anyone.data.synthetic.dataset import write_synthetic_dataset
from animate_anyone.data.video_io import read_video_frames
from animate_anyone.pose.keypoints import KeypointSequence


def test_synth_writes_a_dataset_the_trainer_reads(tmp_path, capsys):
    output = tmp_path / "synth"
    assert main(["data", "synth", "--output", str(output), "--characters", "2", "--frames", "10",
                 "--size", "64x48", "--split", "test"]) == 0
    assert "2 test clips" in capsys.readouterr().out
    meta = json.loads((output / "meta.json").read_text())
    assert [entry["seed"] for entry in meta] == [TEST_SEEDS.start, TEST_SEEDS.start + 1]
    entries = load_dataset_entries(output)  # opens every file and checks frame counts
    assert [entry.num_frames for entry in entries] == [10, 10]
    sample = ReferenceClips(entries, width=32, height=32, clip_size=32, num_frames=4, sample_rate=2)[0]
    assert sample["target"].shape == (3, 4, 32, 32) and sample["pose"].shape == (3, 4, 32, 32)

    clip = generate_clip(TEST_SEEDS.start, num_frames=10, width=64, height=48)
    keypoints = KeypointSequence.load(output / "poses" / f"synth_{TEST_SEEDS.start:07d}.npz")
    assert np.array_equal(keypoints.points(), clip.keypoints.points(), equal_nan=True)
    video = read_video_frames(output / meta[0]["video"])
    poses = read_video_frames(output / meta[0]["pose"])
    assert video.shape == poses.shape == (10, 48, 64, 3)
    assert np.abs(video.astype(int) - clip.frames).mean() < 6  # H.264 at crf 18: close to the rendered frames
    assert np.abs(poses.astype(int) - clip.pose_maps()).mean() < 6


def test_library_refuses_an_existing_dataset(tmp_path):
    write_synthetic_dataset(tmp_path, 1, 2, 32, 32)
    with pytest.raises(ValueError, match="already a dataset"):
        write_synthetic_dataset(tmp_path, 1, 2, 32, 32)


@pytest.mark.parametrize("arguments, message", [
    (["--characters", "0"], "at least 1"),
    (["--characters", "2", "--frames", "0"], "at least 1"),
    (["--characters", "2", "--size", "128"], "WIDTHxHEIGHT"),
    (["--characters", "2", "--size", "65x64"], "even"),
    (["--characters", "2", "--size", "8x8"], "at least 16"),
    (["--characters", "2", "--first", "99999999"], "split has seeds"),
])
def test_bad_arguments_are_one_line_errors(tmp_path, capsys, arguments, message):
    output = tmp_path / "synth"
    assert main(["data", "synth", "--output", str(output), *arguments]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("animate-anyone: error:") and "\n" not in error and message in error
    assert not (output / "meta.json").exists()
