"""Temporal windows for long videos (temporal aggregation, DESIGN.md §3)."""

from __future__ import annotations


def context_windows(num_frames: int, context_frames: int = 24, context_overlap: int = 4) -> list[range]:
    """Overlapping windows of `context_frames` that cover `range(num_frames)`.

    Windows start every `context_frames - context_overlap` frames; the last one is aligned to the
    last frame (it may overlap its neighbour more); windows never wrap from the end to the start.
    With `num_frames <= context_frames` there is exactly one window: the whole clip.
    """
    if num_frames < 1:
        raise ValueError(f"num_frames must be at least 1, got {num_frames}")
    if context_frames < 1:
        raise ValueError(f"context_frames must be at least 1, got {context_frames}")
    if not 0 <= context_overlap < context_frames:
        raise ValueError(f"context_overlap must be in [0, context_frames), got {context_overlap}")
    if num_frames <= context_frames:
        return [range(num_frames)]
    stride = context_frames - context_overlap
    starts = list(range(0, num_frames - context_frames, stride)) + [num_frames - context_frames]
    return [range(start, start + context_frames) for start in starts]
