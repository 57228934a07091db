"""Two CPU processes under `accelerate launch` train in sync (DDP over gloo).

accelerate 1.x spawns several CPU processes for `--cpu --num_processes N` only through mpirun
(`--mpirun_hostfile`); without MPI, torchrun's launcher (`--multi_gpu`) with ACCELERATE_USE_CPU=1 does it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from training_helpers import CONFIGS

from animate_anyone.training import checkpointing

HERE = Path(__file__).parent


def test_two_processes_end_with_identical_weights(tiny_dataset, tmp_path):
    run = tmp_path / "run"
    accelerate = Path(sys.executable).with_name("accelerate")
    # batch 1 with a 50% condition drop: some steps one rank skips ReferenceNet and the other does not
    command = [str(accelerate), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
               "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "29517",
               str(HERE / "distributed_train_check.py"), str(CONFIGS / "tiny-stage1.yaml"),
               f"data.root={tiny_dataset}", f"output_dir={run}", "training.max_steps=4", "training.batch_size=1",
               "training.condition_drop_rate=0.5", "checkpointing.every_steps=4", "validation.every_steps=0"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "ACCELERATE_USE_CPU": "1"}
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert completed.returncode == 0, completed.stderr[-3000:]
    ranks = [json.loads((run / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    assert ranks[0]["processes"] == ranks[1]["processes"] == 2
    assert ranks[0]["step"] == ranks[1]["step"] == 4
    assert ranks[0]["digest"] == ranks[1]["digest"]
    assert ranks[0]["losses"] == ranks[1]["losses"]  # the logged loss is the mean over both processes
    assert [step for step, _ in checkpointing.list_checkpoints(run)] == [4]
