"""Run by `accelerate launch` (one thread per process) from test_window_parallel.py in INPUTS: the tiny
pipeline on a 3-window
video with its windows shared between the processes (frames and UNet calls saved per process), then
two videos at once (the pipeline's batch axis), then the same video through `animate --parallel windows`
(the main process writes OUTPUT) and through `batch --parallel windows` (INPUTS/jobs.jsonl into
OUTPUT's folder/batch)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
from batch_helpers import WINDOWS_CLI_OPTIONS, WINDOWS_PIPELINE_OPTIONS, load_inputs

from animate_anyone.cli import main
from animate_anyone.distributed import WindowSharing, process_state
from animate_anyone.runtime import use_channels_last
from animate_anyone.testing import tiny_pipeline

inputs, output = Path(sys.argv[1]), Path(sys.argv[2])
state = process_state()
pipe = tiny_pipeline(seed=0)
use_channels_last(pipe)  # the layout `animate` runs on the CPU: the same kernels as the command lines below
unet_calls = []
pipe.unet.register_forward_hook(lambda module, args, result: unet_calls.append(1))
reference, poses = load_inputs(inputs)
frames = pipe(reference, poses, generator=torch.Generator().manual_seed(0), window_sharing=WindowSharing(state),
              **WINDOWS_PIPELINE_OPTIONS).frames[0]
np.save(inputs / f"frames{state.process_index}.npy", frames)
(inputs / f"calls{state.process_index}.json").write_text(json.dumps(len(unet_calls)))
two_videos = pipe(reference, poses, generator=torch.Generator().manual_seed(0), window_sharing=WindowSharing(state),
                  num_videos_per_prompt=2, **WINDOWS_PIPELINE_OPTIONS).frames  # the batch axis: (2, F, H, W, 3)
np.save(inputs / f"two_videos{state.process_index}.npy", two_videos)
animate = ["animate", "--reference", str(inputs / "reference.png"), "--pose", str(inputs / "poses"), "--output",
           str(output), *WINDOWS_CLI_OPTIONS, "--parallel", "windows"]
batch = ["batch", str(inputs / "jobs.jsonl"), "--output-dir", str(output.parent / "batch"), *WINDOWS_CLI_OPTIONS,
         "--parallel", "windows"]
sys.exit(main(animate) or main(batch))
