"""The scikit-learn-compatible splitters, in scikit-learn's own cross_validate."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_validate

from datawheel.errors import SplitError
from datawheel.split import GroupStratifiedSplitter, MultilabelStratifiedSplitter, StratifiedSplitter


def data(n: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = (rng.random(n) < 0.3).astype(int)
    x = rng.normal(size=(n, 3)) + y[:, None]
    groups = rng.integers(0, 40, n)
    return x, y, groups


def test_stratified_splitter_in_cross_validate() -> None:
    x, y, _ = data()
    cv = StratifiedSplitter(test_size=0.25, n_splits=3, seed=1)
    scores = cross_validate(LogisticRegression(), x, y, cv=cv, return_indices=True)
    assert len(scores["test_score"]) == 3
    assert all(s > 0.6 for s in scores["test_score"])
    positives = int(y.sum())
    for train, test in zip(scores["indices"]["train"], scores["indices"]["test"], strict=True):
        assert len(test) == 100
        assert len(train) == 300
        assert set(train).isdisjoint(test)
        assert abs(int(y[test].sum()) - positives * 0.25) < 1
    assert repr(cv) == "StratifiedSplitter(test_size=0.25, n_splits=3, seed=1)"


def test_group_splitter_keeps_groups_apart_in_cross_validate() -> None:
    x, y, groups = data()
    cv = GroupStratifiedSplitter(test_size=0.2, n_splits=2)
    scores = cross_validate(LogisticRegression(), x, y, groups=groups, cv=cv, return_indices=True)
    for train, test in zip(scores["indices"]["train"], scores["indices"]["test"], strict=True):
        assert set(groups[train]).isdisjoint(groups[test])
        assert abs(len(test) / len(x) - 0.2) < 0.05
    with pytest.raises(SplitError, match="needs groups"):
        next(cv.split(x, y))


def test_multilabel_splitter_balances_each_label() -> None:
    rng = np.random.default_rng(2)
    y = (rng.random((500, 4)) < [0.05, 0.1, 0.3, 0.5]).astype(int)
    train, test = next(MultilabelStratifiedSplitter(test_size=0.2).split(np.zeros((500, 1)), y))
    assert len(train) + len(test) == 500
    assert np.all(np.abs(y[test].sum(axis=0) - 0.2 * y.sum(axis=0)) <= 1.5)


def test_bad_parameters() -> None:
    with pytest.raises(SplitError, match="between 0 and 1"):
        StratifiedSplitter(test_size=1.5)
    with pytest.raises(SplitError, match="expected"):
        next(StratifiedSplitter().split(np.zeros(4), [0, 1]))
