"""Several inference processes under `accelerate launch`: this process's place and device, and the
sharing of one video's temporal windows between processes (window-parallel denoising, docs/scale.md)."""

from __future__ import annotations

import torch
from accelerate import PartialState
from accelerate.utils import parse_flag_from_env, reduce


def process_state() -> PartialState:
    """accelerate's state of this process. Without a GPU (or with ACCELERATE_USE_CPU=1) the processes
    of a launch talk over gloo; `PartialState` alone would take them for separate single processes."""
    return PartialState(cpu=parse_flag_from_env("ACCELERATE_USE_CPU") or not torch.cuda.is_available())


def process_device(requested: str, state: PartialState) -> str:
    """`cuda` alone means this process's own GPU (cuda:LOCAL_RANK) when there are several processes."""
    if requested == "cuda" and state.num_processes > 1:
        return f"cuda:{state.local_process_index}"
    return requested


class WindowSharing:
    """The processes of a launch share each denoising step of one video: every process predicts its
    share of the temporal windows (`select`), the per-frame sums of predictions and the coverage counts
    are summed over the processes (`reduce`, an all-reduce), and every process then holds the same
    average and takes the same scheduler step. Same seed, same noise, same result as one process
    (up to the order of floating-point additions)."""

    def __init__(self, state: PartialState):
        self.state = state

    @property
    def is_writer(self) -> bool:
        """The one process that decodes and writes the video."""
        return self.state.is_main_process

    def select(self, windows: list[range]) -> list[range]:
        with self.state.split_between_processes(windows) as share:
            return list(share)

    def reduce(self, tensor: torch.Tensor) -> torch.Tensor:
        return reduce(tensor, reduction="sum")
