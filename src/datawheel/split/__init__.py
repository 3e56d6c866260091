"""Train/dev/test splits: exact stratification, groups, time, stable assignment, leakage checks.

Plain functions over Polars frames (:func:`split_frame`, :func:`check_leakage`) and
scikit-learn-compatible splitters; the pipeline layer stores a split as a dataset version.

Example:
    >>> import polars as pl
    >>> frame = pl.DataFrame({"label": [1] * 30 + [0] * 70})
    >>> result = split_frame(frame, [0.6, 0.2, 0.2], stratify=["label"])
    >>> {name: part["1"] for name, part in result.report.split_classes.items()}
    {'train': 18, 'dev': 6, 'test': 6}
"""

from datawheel.split._allocate import allocate
from datawheel.split._leakage import Leak, LeakageReport, check_leakage
from datawheel.split._sklearn import GroupStratifiedSplitter, MultilabelStratifiedSplitter, StratifiedSplitter
from datawheel.split._split import (
    DEFAULT_NAMES,
    GAP,
    SPLIT_COLUMN,
    SplitReport,
    SplitResult,
    split_frame,
    split_names,
)

__all__ = [
    "DEFAULT_NAMES",
    "GAP",
    "SPLIT_COLUMN",
    "GroupStratifiedSplitter",
    "Leak",
    "LeakageReport",
    "MultilabelStratifiedSplitter",
    "SplitReport",
    "SplitResult",
    "StratifiedSplitter",
    "allocate",
    "check_leakage",
    "split_frame",
    "split_names",
]
