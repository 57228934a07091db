"""Run by `accelerate launch` from test_train_distributed.py: train, then write this rank's weight digest."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import torch

from animate_anyone.training.config import load_config
from animate_anyone.training.train import Trainer

config = load_config(sys.argv[1], sys.argv[2:])
trainer = Trainer(config)
result = trainer.fit()
digest = hashlib.sha256()
for name, parameter in sorted(trainer.unwrapped.state_dict().items()):
    digest.update(name.encode())
    digest.update(parameter.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
rank = trainer.accelerator.process_index
Path(config.output_dir, f"rank{rank}.json").write_text(json.dumps(
    {"digest": digest.hexdigest(), "step": result.step, "losses": result.losses,
     "processes": trainer.accelerator.num_processes}))
