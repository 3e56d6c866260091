"""scikit-learn-compatible splitters: ``split(X, y, groups)`` yields ``(train_idx, test_idx)`` arrays.

They need no scikit-learn import (``cross_validate`` accepts any object with ``split`` and
``get_n_splits``), and each repetition ``i`` uses seed ``seed + i``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from datawheel.errors import SplitError
from datawheel.split._allocate import F64, I64
from datawheel.split._core import I8, group_assign, multilabel_assign, stratified_assign

__all__ = ["GroupStratifiedSplitter", "MultilabelStratifiedSplitter", "StratifiedSplitter"]

Indices = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]


class _Splitter:
    """Shared parts: the test share, the repetitions and the seed."""

    def __init__(self, test_size: float = 0.2, *, n_splits: int = 1, seed: int = 0) -> None:
        if not 0.0 < test_size < 1.0:
            raise SplitError(f"test_size {test_size} is not between 0 and 1", hint="use e.g. test_size=0.2")
        if n_splits < 1:
            raise SplitError(f"n_splits {n_splits} is below 1", hint="use n_splits=1 or more")
        self.test_size = test_size
        self.n_splits = n_splits
        self.seed = seed

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """The number of (train, test) pairs :meth:`split` yields."""
        return self.n_splits

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(test_size={self.test_size}, n_splits={self.n_splits}, seed={self.seed})"
        )

    @property
    def _ratios(self) -> F64:
        return np.array([1.0 - self.test_size, self.test_size])

    def _pairs(self, assignments: Iterator[I8]) -> Iterator[Indices]:
        for split in assignments:
            yield np.flatnonzero(split == 0).astype(np.int64), np.flatnonzero(split == 1).astype(np.int64)


def _codes(values: Any, n: int, what: str) -> I64:
    array = np.asarray(values)
    if array.ndim != 1 or array.shape[0] != n:
        raise SplitError(
            f"{what} has shape {array.shape}, expected ({n},)", hint=f"pass one {what} per sample"
        )
    codes: I64 = np.unique(array, return_inverse=True)[1].reshape(-1).astype(np.int64)
    return codes


def _samples(X: Any) -> int:
    shape = getattr(X, "shape", None)
    return int(shape[0]) if shape is not None else len(X)


class StratifiedSplitter(_Splitter):
    """A train/test split with exact per-class counts (largest remainder), like ``StratifiedShuffleSplit``.

    Example:
        >>> y = np.array([1] * 30 + [0] * 70)
        >>> train, test = next(StratifiedSplitter(test_size=0.2).split(np.zeros((100, 1)), y))
        >>> len(train), len(test), int(y[test].sum())
        (80, 20, 6)
    """

    def split(self, X: Any, y: Any = None, groups: Any = None) -> Iterator[Indices]:
        """Yield ``(train_idx, test_idx)`` for each repetition; ``y`` gives the classes (none: one class)."""
        n = _samples(X)
        strata = np.zeros(n, dtype=np.int64) if y is None else _codes(y, n, "y")
        return self._pairs(
            stratified_assign(strata, self._ratios, self.seed + i)[0] for i in range(self.n_splits)
        )


class GroupStratifiedSplitter(_Splitter):
    """A train/test split that keeps each group on one side, classes balanced as the groups allow.

    Example:
        >>> groups = np.repeat(np.arange(20), 5)
        >>> train, test = next(GroupStratifiedSplitter(test_size=0.25).split(np.zeros(100), None, groups))
        >>> len(test), set(groups[train]) & set(groups[test])
        (25, set())
    """

    def split(self, X: Any, y: Any = None, groups: Any = None) -> Iterator[Indices]:
        """Yield ``(train_idx, test_idx)`` for each repetition; ``groups`` is required."""
        n = _samples(X)
        if groups is None:
            raise SplitError(
                "GroupStratifiedSplitter needs groups", hint="pass groups=... to split or cross_validate"
            )
        codes = _codes(groups, n, "groups")
        strata = np.zeros(n, dtype=np.int64) if y is None else _codes(y, n, "y")
        return self._pairs(
            group_assign(codes, strata, self._ratios, self.seed + i) for i in range(self.n_splits)
        )


class MultilabelStratifiedSplitter(_Splitter):
    """A train/test split of multi-label data by iterative stratification; ``y`` is a 0/1 matrix.

    Example:
        >>> y = np.zeros((100, 2), dtype=int)
        >>> y[:40, 0] = 1
        >>> y[30:50, 1] = 1
        >>> train, test = next(MultilabelStratifiedSplitter(test_size=0.5).split(np.zeros(100), y))
        >>> y[test].sum(axis=0).tolist()
        [20, 10]
    """

    def split(self, X: Any, y: Any = None, groups: Any = None) -> Iterator[Indices]:
        """Yield ``(train_idx, test_idx)`` for each repetition."""
        n = _samples(X)
        matrix = np.asarray(y)
        if matrix.ndim != 2 or matrix.shape[0] != n:
            raise SplitError(
                f"y has shape {matrix.shape}, expected ({n}, labels)",
                hint="pass a 0/1 matrix, a column per label",
            )
        labels = matrix.astype(bool)
        return self._pairs(
            multilabel_assign(labels, self._ratios, self.seed + i) for i in range(self.n_splits)
        )
