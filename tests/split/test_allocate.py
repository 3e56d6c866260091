"""Largest-remainder counts: exact quotas, the tie rule, and classes smaller than the splits."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from datawheel.split import allocate
from datawheel.split._allocate import allocate_strata, waterfill


def test_the_100_30_example_gives_exactly_18_6_6_and_42_14_14() -> None:
    assert allocate(30, [0.6, 0.2, 0.2]) == [18, 6, 6]
    assert allocate(70, [0.6, 0.2, 0.2]) == [42, 14, 14]


@pytest.mark.parametrize(
    ("count", "ratios", "expected"),
    [
        (10, [0.5, 0.5], [5, 5]),
        (7, [0.5, 0.5], [4, 3]),  # a tie goes to the earlier split
        (11, [0.8, 0.1, 0.1], [9, 1, 1]),  # remainders .8 .1 .1: the largest takes the leftover row
        (3, [0.34, 0.33, 0.33], [1, 1, 1]),
        (0, [0.6, 0.2, 0.2], [0, 0, 0]),
    ],
)
def test_allocate_table(count: int, ratios: list[float], expected: list[int]) -> None:
    assert allocate(count, ratios) == expected


def test_ties_and_tiny_classes_are_spread_by_the_overall_deficit() -> None:
    # 100 strata of 3 rows at 0.5/0.5: every stratum ties; the overall split stays 150/150
    counts = allocate_strata(np.full(100, 3), np.array([0.5, 0.5]))
    assert counts.sum(axis=0).tolist() == [150, 150]
    # 50 one-row classes at 0.6/0.2/0.2 are spread, not all put in train
    single = allocate_strata(np.ones(50, dtype=np.int64), np.array([0.6, 0.2, 0.2]))
    assert single.sum(axis=0).tolist() == [30, 10, 10]


@given(
    st.lists(st.integers(0, 500), min_size=1, max_size=30),
    st.lists(st.integers(1, 20), min_size=2, max_size=5),
)
def test_every_count_is_the_floor_or_ceiling_of_its_quota(sizes: list[int], weights: list[int]) -> None:
    ratios = np.array(weights, dtype=np.float64) / sum(weights)
    counts = allocate_strata(np.array(sizes, dtype=np.int64), ratios)
    assert counts.sum(axis=1).tolist() == sizes
    quotas = np.array(sizes)[:, None] * ratios[None, :]
    assert np.all(np.abs(counts - quotas) < 1.0 + 1e-9)


def test_waterfill_gives_to_the_most_desiring_split_first() -> None:
    assert waterfill(np.array([5.0, 1.0, 1.0]), 4, np.zeros(3)).tolist() == [4, 0, 0]
    assert waterfill(np.array([2.0, -1.0]), 3, np.zeros(2)).tolist() == [3, 0]
    assert waterfill(np.array([1.0, 1.0]), 0, np.zeros(2)).tolist() == [0, 0]
