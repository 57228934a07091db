"""Window-parallel denoising: two processes sharing a 3-window video's windows give one process's output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from batch_helpers import WINDOWS_FRAMES, WINDOWS_PIPELINE_OPTIONS, job, load_inputs, write_inputs, write_jobs
from test_batch_accelerate import ACCELERATE, CPU_CONFIG, ENV, free_port

from animate_anyone.data.video_io import read_video_frames
from animate_anyone.pipelines.context import context_windows
from animate_anyone.provenance import Label, read_label, write_generated_video
from animate_anyone.runtime import use_channels_last
from animate_anyone.testing import tiny_pipeline

HERE = Path(__file__).parent


def test_two_processes_sharing_windows_equal_one_process(tmp_path):
    inputs = tmp_path / "inputs"
    write_inputs(inputs, num_frames=WINDOWS_FRAMES)
    write_jobs(inputs / "jobs.jsonl", [job("long.mp4"), job("short.mp4", frames=3, seed=1)])
    assert len(context_windows(WINDOWS_FRAMES, 4, 1)) == 3
    shared_video = tmp_path / "out" / "shared.mp4"
    shared_video.parent.mkdir()
    command = [str(ACCELERATE), "launch", "--config_file", str(CPU_CONFIG), "--main_process_port", str(free_port()),
               str(HERE / "window_parallel_check.py"), str(inputs), str(shared_video)]
    completed = subprocess.run(command, env={**ENV, "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path])},
                               capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]

    # One process with the kernels of the launched ones (one thread, channels-last): the same arithmetic per
    # window, and the fp64 per-frame sums make the order of the windows' additions irrelevant: exactly equal.
    pipe = tiny_pipeline(seed=0)
    use_channels_last(pipe)
    unet_calls = []
    pipe.unet.register_forward_hook(lambda module, args, result: unet_calls.append(1))
    reference, poses = load_inputs(inputs)
    threads = torch.get_num_threads()
    torch.set_num_threads(int(ENV["OMP_NUM_THREADS"]))
    try:
        alone = pipe(reference, poses, generator=torch.Generator().manual_seed(0), **WINDOWS_PIPELINE_OPTIONS).frames[0]
        two_videos = pipe(reference, poses, generator=torch.Generator().manual_seed(0), num_videos_per_prompt=2,
                          **WINDOWS_PIPELINE_OPTIONS).frames
    finally:
        torch.set_num_threads(threads)
    shared = [np.load(inputs / f"frames{rank}.npy") for rank in (0, 1)]
    np.testing.assert_array_equal(shared[0], shared[1])  # every process ends with the same video
    np.testing.assert_array_equal(shared[0], alone)
    # 3 steps: process 0 predicted windows 0 and 1, process 1 window 2; one process alone, all three
    assert [json.loads((inputs / f"calls{rank}.json").read_text()) for rank in (0, 1)] == [6, 3]
    assert len(unet_calls) == 9 + 9  # and as many for the two videos, batched
    for rank in (0, 1):
        np.testing.assert_array_equal(np.load(inputs / f"two_videos{rank}.npy"), two_videos)

    # the command lines: the main process alone writes the video that the processes computed together, through
    # the provenance writer (marked and labelled) as `animate` does in one process
    facts = read_label(shared_video)
    assert (facts["model"], facts["seed"], facts["settings"]["frames"]) == ("tiny-random", 0, WINDOWS_FRAMES)
    assert facts["watermark"] is not None
    label = Label(facts["model"], facts["model_sha256"], facts["seed"], facts["settings"])
    write_generated_video(tmp_path / "expected.mp4", (np.clip(shared[0], 0, 1) * 255).round().astype(np.uint8), 8,
                          label)
    expected = read_video_frames(tmp_path / "expected.mp4")
    np.testing.assert_array_equal(read_video_frames(shared_video), expected)
    np.testing.assert_array_equal(read_video_frames(tmp_path / "out" / "batch" / "long.mp4"), expected)
    assert read_video_frames(tmp_path / "out" / "batch" / "short.mp4").shape == (3, 48, 32, 3)  # one window
    manifest = json.loads((tmp_path / "out" / "batch" / "manifest.json").read_text())
    assert [(entry["state"], entry["process"]) for entry in manifest["jobs"]] == [("done", 0), ("done", 0)]
    assert "batch: 2 done, 0 failed, 0 skipped" in completed.stdout
    written = sorted(str(path.relative_to(tmp_path / "out")) for path in (tmp_path / "out").rglob("*.mp4"))
    assert written == ["batch/long.mp4", "batch/short.mp4", "shared.mp4"]
