"""Several inference processes under `accelerate launch`: this process's place and device."""

from __future__ import annotations

import torch
from accelerate import PartialState
from accelerate.utils import parse_flag_from_env


def process_state() -> PartialState:
    """accelerate's state of this process. Without a GPU (or with ACCELERATE_USE_CPU=1) the processes
    of a launch talk over gloo; `PartialState` alone would take them for separate single processes."""
    return PartialState(cpu=parse_flag_from_env("ACCELERATE_USE_CPU") or not torch.cuda.is_available())


def process_device(requested: str, state: PartialState) -> str:
    """`cuda` alone means this process's own GPU (cuda:LOCAL_RANK) when there are several processes."""
    if requested == "cuda" and state.num_processes > 1:
        return f"cuda:{state.local_process_index}"
    return requested
