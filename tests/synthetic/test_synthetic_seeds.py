"""The seed split: train and test seeds never overlap, and every seed knows its split."""

from __future__ import annotations

import pytest

from animate_anyone.data.synthetic import SPLITS, TEST_SEEDS, TRAIN_SEEDS, split_of, split_seeds
from animate_anyone.errors import InputError


def test_train_and_test_seeds_never_overlap():
    assert set(SPLITS) == {"train", "test"}
    assert TRAIN_SEEDS.step == TEST_SEEDS.step == 1
    assert TRAIN_SEEDS.stop <= TEST_SEEDS.start or TEST_SEEDS.stop <= TRAIN_SEEDS.start
    assert not set(split_seeds("train", 1000, first=len(TRAIN_SEEDS) - 1000)) & set(split_seeds("test", 1000))


def test_split_seeds_are_consecutive_blocks_of_their_split():
    assert split_seeds("train", 3) == [0, 1, 2]
    assert split_seeds("test", 2, first=5) == [TEST_SEEDS.start + 5, TEST_SEEDS.start + 6]
    assert all(split_of(seed) == "test" for seed in split_seeds("test", 10))
    assert split_of(TRAIN_SEEDS.stop - 1) == "train" and split_of(TEST_SEEDS.start) == "test"


@pytest.mark.parametrize("split, count, first", [("valid", 1, 0), ("train", 0, 0), ("test", 1, -1),
                                                 ("test", 2, len(TEST_SEEDS) - 1)])
def test_bad_requests_are_input_errors(split, count, first):
    with pytest.raises(InputError):
        split_seeds(split, count, first)


def test_seeds_outside_both_ranges_have_no_split():
    with pytest.raises(InputError, match="in no split"):
        split_of(TEST_SEEDS.stop)
    with pytest.raises(InputError):
        split_of(-1)
