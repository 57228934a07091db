"""The seed split of the procedural data: which clip seeds train and which are held out for testing.

A clip seed fixes everything about a clip: its character (appearance stream) and its motion
(motion stream). The two ranges below never overlap, so a model trained on `train` seeds is
measured on characters and motions it never saw. The ranges are part of the data's definition:
never change them once a model has been trained.
"""

from __future__ import annotations

from animate_anyone.errors import InputError

TRAIN_SEEDS = range(0, 1_000_000)
TEST_SEEDS = range(1_000_000, 1_100_000)
SPLITS = {"train": TRAIN_SEEDS, "test": TEST_SEEDS}


def split_seeds(split: str, count: int, first: int = 0) -> list[int]:
    """`count` consecutive seeds of `split`, from its `first`-th seed (so several runs can take disjoint blocks)."""
    if split not in SPLITS:
        raise InputError(f"unknown split {split!r}: choose one of {', '.join(SPLITS)}")
    seeds = SPLITS[split]
    if count < 1 or first < 0 or first + count > len(seeds):
        raise InputError(f"the {split} split has seeds 0..{len(seeds) - 1} (offsets); asked for {count} from {first}")
    return list(seeds[first:first + count])


def split_of(seed: int) -> str:
    """'train' or 'test' for a seed of either range; an `InputError` for any other seed."""
    for name, seeds in SPLITS.items():
        if seed in seeds:
            return name
    raise InputError(f"seed {seed} is in no split (train {TRAIN_SEEDS.start}..{TRAIN_SEEDS.stop - 1}, "
                     f"test {TEST_SEEDS.start}..{TEST_SEEDS.stop - 1})")
