"""Datasets (deterministic, shared crop, clip sampling) and `data prepare` (checks, skips, errors)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from synthetic_dataset import hide_first_frame, write_synthetic_videos

from animate_anyone.cli import main
from animate_anyone.data.dataset import (
    ReferenceClips,
    ReferenceTargetPairs,
    ResumableSampler,
    load_dataset_entries,
    random_crop_box,
)
from animate_anyone.data.prepare import prepare_dataset
from animate_anyone.data.video_io import count_frames, read_video_frames, video_info, write_video
from animate_anyone.errors import InputError


def test_samples_are_a_function_of_seed_and_index(tiny_dataset):
    entries = load_dataset_entries(tiny_dataset)
    pairs = ReferenceTargetPairs(entries, width=32, height=32, seed=3, clip_size=32, min_gap=30)
    again = ReferenceTargetPairs(entries, width=32, height=32, seed=3, clip_size=32, min_gap=30)
    other_seed = ReferenceTargetPairs(entries, width=32, height=32, seed=4, clip_size=32, min_gap=30)
    for index in (0, 5, 1000):  # any index: later epochs too
        a, b = pairs[index], again[index]
        assert all(torch.equal(a[key], b[key]) for key in a)
    assert not torch.equal(pairs[5]["target"], other_seed[5]["target"])
    sample = pairs[0]
    assert sample["reference"].shape == (3, 32, 32) and sample["clip"].shape == (3, 32, 32)
    assert sample["target"].shape == (3, 1, 32, 32) and sample["pose"].shape == (3, 1, 32, 32)
    assert sample["target"].min() >= -1 and sample["pose"].min() >= 0 and sample["pose"].max() <= 1
    # every epoch visits every video once
    assert sorted(pairs.entry_of(i).video.name for i in range(3, 6)) == sorted(e.video.name for e in entries)


def test_reference_gap_and_clip_sampling():
    rng = np.random.default_rng(0)
    pairs = ReferenceTargetPairs.__new__(ReferenceTargetPairs)
    pairs.min_gap = 30
    for _ in range(50):
        reference, [target] = pairs.pick_frames(40, rng)
        assert abs(reference - target) >= 30
    clips = ReferenceClips.__new__(ReferenceClips)
    clips.num_frames, clips.sample_rate = 8, 4
    _, frames = clips.pick_frames(100, rng)
    assert np.diff(frames).tolist() == [4] * 7 and frames[-1] < 100
    _, frames = clips.pick_frames(20, rng)  # too short for rate 4: rate lowered to fit
    assert np.diff(frames).tolist() == [2] * 7 and frames[-1] < 20


def test_crop_box_keeps_the_output_aspect():
    rng = np.random.default_rng(0)
    for _ in range(20):
        left, top, right, bottom = random_crop_box((640, 360), (256, 384), 0.8, rng)
        assert 0 <= left < right <= 1 and 0 <= top < bottom <= 1
        assert (right - left) * 640 / ((bottom - top) * 360) == pytest.approx(256 / 384)


def test_sampler_resumes_where_it_stopped():
    def take(sampler, count):
        iterator = iter(sampler)
        return [next(iterator) for _ in range(count)]

    rank0, rank1 = ResumableSampler(2, 0, 2), ResumableSampler(2, 1, 2)
    assert take(rank0, 4) == [0, 1, 4, 5] and take(rank1, 4) == [2, 3, 6, 7]
    assert take(ResumableSampler(2, 0, 2, start_micro_step=1), 2) == [4, 5]


def test_dataset_errors_are_clear(tmp_path, tiny_dataset):
    (tmp_path / "meta.json").write_text("[]")
    with pytest.raises(InputError, match="empty"):
        load_dataset_entries(tmp_path)
    with pytest.raises(InputError, match="no meta.json"):
        load_dataset_entries(tmp_path / "nowhere")

    broken = tmp_path / "broken"
    shutil.copytree(tiny_dataset, broken)
    write_video(broken / "kps/clip1_kps.mp4", np.zeros((7, 48, 48, 3), np.uint8), fps=30)
    with pytest.raises(InputError, match="frame counts differ.*clip1"):
        load_dataset_entries(broken)
    (broken / "videos/clip1.mp4").write_bytes(b"garbage")
    with pytest.raises(InputError, match="cannot read video.*clip1"):
        load_dataset_entries(broken)
    with pytest.raises(InputError, match="no video has the 50 frames"):
        ReferenceClips(load_dataset_entries(tiny_dataset), 32, 32, num_frames=50)


def test_prepare_checks_skips_and_lists_bad_videos(tmp_path, capsys):
    videos, poses = tmp_path / "raw", tmp_path / "poses"
    write_synthetic_videos(videos, num_videos=3, num_frames=10, size=32, pose_folder=poses)
    write_video(poses / "clip1_kps.mp4", np.zeros((6, 32, 32, 3), np.uint8), fps=30)  # wrong frame count
    (videos / "unreadable.mp4").write_bytes(b"not a video")
    shutil.copy(videos / "clip0.mp4", videos / "no_pose.mp4")

    output = tmp_path / "dataset"
    code = main(["data", "prepare", str(videos), "--output", str(output), "--pose-dir", str(poses)])
    assert code == 0
    err = capsys.readouterr().err
    for name in ("clip1.mp4", "unreadable.mp4", "no_pose.mp4"):
        assert f"skipped {videos / name}" in err
    meta = json.loads((output / "meta.json").read_text())
    assert [entry["video"] for entry in meta] == ["videos/clip0.mp4", "videos/clip2.mp4"]
    assert [entry.num_frames for entry in load_dataset_entries(output)] == [10, 10]

    assert main(["data", "prepare", str(videos), "--output", str(output), "--pose-dir", str(poses)]) == 2
    assert "already a dataset" in capsys.readouterr().err
    (videos / "clip0.mp4").unlink(), (videos / "clip2.mp4").unlink()
    with pytest.raises(InputError, match="no usable video"):
        prepare_dataset(videos, tmp_path / "none", pose_dir=poses)


def test_train_accepts_what_prepare_accepts_when_the_header_lies(tmp_path, capsys):
    """A real-style mp4 whose container header counts one frame more than decodes (an edit list):
    `data prepare` and the dataset check of `train` count frames the same way (decoded, cached)."""
    raw, poses = tmp_path / "raw", tmp_path / "poses"
    write_synthetic_videos(tmp_path / "made", num_videos=1, num_frames=10, size=32, pose_folder=tmp_path / "made")
    raw.mkdir(), poses.mkdir()
    hide_first_frame(tmp_path / "made/clip0.mp4", raw / "talk.mp4")
    assert (video_info(raw / "talk.mp4").num_frames, count_frames(raw / "talk.mp4")) == (10, 9)  # the header lies
    write_video(poses / "talk_kps.mp4", read_video_frames(tmp_path / "made/clip0_kps.mp4")[1:], fps=30)  # 9 poses

    output = tmp_path / "dataset"
    assert main(["data", "prepare", str(raw), "--output", str(output), "--pose-dir", str(poses)]) == 0
    assert "skipped" not in capsys.readouterr().err
    meta = json.loads((output / "meta.json").read_text())
    assert meta[0]["num_frames"] == 9
    entries = load_dataset_entries(output)  # the check `train` runs
    assert [entry.num_frames for entry in entries] == [9]
    sample = ReferenceClips(entries, 32, 32, num_frames=9, sample_rate=1, seed=0)[0]
    assert sample["target"].shape[1] == 9  # the last decoded frame is read

    # files changed since `prepare` (or a hand-written meta.json without counts) are counted again, decoding
    del meta[0]["bytes"], meta[0]["num_frames"]
    (output / "meta.json").write_text(json.dumps(meta))
    assert [entry.num_frames for entry in load_dataset_entries(output)] == [9]
