"""Train/serve skew: do the features served in production match those the model was trained on?

Two ways to compare, as records rather than exceptions (the caller decides whether to fail):

- by rows (a ``key`` is given): each serving row is matched with the training row of the same
  key, and every feature is compared value by value, within an absolute ``tolerance``;
- by distribution (no key): each feature's mean, standard deviation, null rate and category
  frequencies are compared, and a column differs when a distance passes ``threshold``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import polars as pl

from datawheel.errors import TransformError
from datawheel.transform._op import is_numeric
from datawheel.transform._transform import FittedTransform

SkewMode = Literal["rows", "distribution"]


def _plain(value: Any) -> Any:
    """A value as strict JSON: non-finite floats, dates and decimals as text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dt.date | dt.time | dt.timedelta | Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class ColumnSkew:
    """How one feature compares between training and serving.

    ``max_abs_diff`` is, by rows, the largest ``|train - serving|`` over matched rows where both
    are finite numbers (None for other columns); by distribution, the largest of ``distances``.
    ``rows_differing`` counts the matched rows whose values differ (by rows only).
    ``distances`` (by distribution) holds ``mean`` and ``std`` shifts in training standard
    deviations, the ``null_rate`` difference, and ``categories``: the largest difference of a
    value's share. ``train`` and ``serving`` hold the statistics compared. ``examples`` are the
    differing rows (``{"key", "train", "serving"}``) or statistics and categories
    (``{"statistic"|"value", "train", "serving", "distance"}``), or ``{"problem"}``.
    """

    column: str
    differs: bool
    max_abs_diff: float | None = None
    rows_differing: int | None = None
    distances: Mapping[str, float] = field(default_factory=dict)
    train: Mapping[str, float | None] = field(default_factory=dict)
    serving: Mapping[str, float | None] = field(default_factory=dict)
    examples: tuple[Mapping[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The column as plain JSON values.

        ``{"column", "differs", "max_abs_diff", "rows_differing", "distances", "train", "serving",
        "examples"}``.
        """
        return {
            "column": self.column,
            "differs": self.differs,
            "max_abs_diff": _plain(self.max_abs_diff),
            "rows_differing": self.rows_differing,
            "distances": _plain(dict(self.distances)),
            "train": _plain(dict(self.train)),
            "serving": _plain(dict(self.serving)),
            "examples": [_plain(dict(example)) for example in self.examples],
        }


@dataclass(frozen=True)
class SkewReport:
    """The result of a skew check: one :class:`ColumnSkew` per feature compared.

    ``rows_compared`` is the number of matched rows (by rows) or of serving rows (by
    distribution); ``unmatched_train`` and ``unmatched_serving`` count rows whose key the other
    side lacks (by rows). ``tolerance`` (by rows) or ``threshold`` (by distribution) is the limit
    the check used; the other is None.
    """

    mode: SkewMode
    columns: tuple[ColumnSkew, ...]
    rows_compared: int
    train_rows: int
    serving_rows: int
    key: tuple[str, ...] = ()
    unmatched_train: int = 0
    unmatched_serving: int = 0
    tolerance: float | None = None
    threshold: float | None = None

    @property
    def ok(self) -> bool:
        """No feature differs, and there was something to compare."""
        return self.rows_compared > 0 and self.train_rows > 0 and not self.differing

    @property
    def differing(self) -> tuple[str, ...]:
        """The features that differ."""
        return tuple(c.column for c in self.columns if c.differs)

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON values, in a stable shape (fields are only ever added).

        ``{"ok", "mode", "key", "rows_compared", "train_rows", "serving_rows",
        "unmatched": {"train", "serving"}, "tolerance", "threshold", "columns": [...]}``, each
        column as in :meth:`ColumnSkew.to_dict`.
        """
        return {
            "ok": self.ok,
            "mode": self.mode,
            "key": list(self.key),
            "rows_compared": self.rows_compared,
            "train_rows": self.train_rows,
            "serving_rows": self.serving_rows,
            "unmatched": {"train": self.unmatched_train, "serving": self.unmatched_serving},
            "tolerance": self.tolerance,
            "threshold": self.threshold,
            "columns": [c.to_dict() for c in self.columns],
        }


def skew(
    train_features: pl.DataFrame,
    serving_features: pl.DataFrame,
    *,
    key: str | Sequence[str] | None = None,
    columns: Iterable[str] | None = None,
    tolerance: float = 1e-9,
    threshold: float = 0.1,
    examples: int = 5,
) -> SkewReport:
    """Compare features computed at training time with features computed at serving.

    Args:
        train_features: The features as logged when the model was trained.
        serving_features: The features computed by the serving pipeline.
        key: Column(s) identifying a row on both sides. With a key, rows are matched and values
            compared one by one; without, the columns' distributions are compared.
        columns: The features to compare; by default every column of either frame but the key.
            A column only one side has differs.
        tolerance: By rows: the largest absolute difference two numbers may have and still agree.
        threshold: By distribution: the largest distance a statistic may move and still agree.
        examples: How many examples to keep per column.

    Example:
        >>> train = pl.DataFrame({"id": [1, 2, 3], "age": [-1.0, 0.0, 1.0]})
        >>> serving = pl.DataFrame({"id": [3, 2, 1], "age": [1.0, 0.5, -1.0]})
        >>> report = skew(train, serving, key="id")
        >>> (report.ok, report.columns[0].rows_differing, report.columns[0].max_abs_diff)
        (False, 1, 0.5)
        >>> report.columns[0].examples
        ({'key': {'id': 2}, 'train': 0.0, 'serving': 0.5},)
    """
    keys = (key,) if isinstance(key, str) else tuple(key or ())
    names = _columns(train_features, serving_features, columns, keys)
    if keys:
        return _by_rows(train_features, serving_features, keys, names, tolerance=tolerance, examples=examples)
    return _by_distribution(train_features, serving_features, names, threshold=threshold, examples=examples)


def recompute_skew(
    fitted: FittedTransform,
    raw_serving: pl.DataFrame | pl.LazyFrame,
    train_features: pl.DataFrame,
    *,
    key: str | Sequence[str],
    columns: Iterable[str] | None = None,
    tolerance: float = 1e-9,
    examples: int = 5,
) -> SkewReport:
    """Apply ``fitted`` to raw serving rows and compare with the training features of the same keys.

    The classic train/serve skew check: the rows served in production are run through the
    transform saved at training, and each feature is compared with the one logged at training
    for the same key. Only the transform's outputs are compared, unless ``columns`` says else.

    Example:
        >>> from datawheel.transform import Standardize, Transform
        >>> raw = pl.DataFrame({"id": [1, 2, 3], "age": [20, 30, 40]})
        >>> fitted = Transform([Standardize("age")]).fit(raw)
        >>> recompute_skew(fitted, raw.tail(2), fitted.apply(raw), key="id").ok
        True
    """
    keys = (key,) if isinstance(key, str) else tuple(key)
    touched = set(fitted.outputs).union(*(op.drops for op in fitted.ops))
    if touched & set(keys):
        raise TransformError(
            f"the transform writes or drops the key column(s) {', '.join(sorted(touched & set(keys)))}",
            hint="give a key the transform leaves as it is",
        )
    serving = fitted.apply(raw_serving.lazy()).collect()
    wanted = list(columns) if columns is not None else list(fitted.outputs)
    return skew(train_features, serving, key=keys, columns=wanted, tolerance=tolerance, examples=examples)


def _columns(
    train: pl.DataFrame, serving: pl.DataFrame, columns: Iterable[str] | None, keys: tuple[str, ...]
) -> list[str]:
    for side, frame in (("train", train), ("serving", serving)):
        lacking = [k for k in keys if k not in frame.columns]
        if lacking:
            raise TransformError(
                f"the {side} features lack the key column(s) {', '.join(lacking)}",
                hint="give a key both frames have",
            )
    if columns is None:
        return [c for c in dict.fromkeys([*train.columns, *serving.columns]) if c not in keys]
    names = list(dict.fromkeys(columns))
    unknown = [c for c in names if c not in train.columns and c not in serving.columns]
    if unknown or set(names) & set(keys):
        raise TransformError(
            f"cannot compare column(s) {', '.join(unknown or sorted(set(names) & set(keys)))}: "
            + ("neither frame has them" if unknown else "they are the key"),
            hint="name features both frames have",
        )
    return names


def _missing(column: str, train: pl.DataFrame, serving: pl.DataFrame) -> ColumnSkew | None:
    for side, frame in (("train", train), ("serving", serving)):
        if column not in frame.columns:
            return ColumnSkew(column, True, examples=({"problem": f"missing from the {side} features"},))
    return None


def _by_rows(
    train: pl.DataFrame,
    serving: pl.DataFrame,
    keys: tuple[str, ...],
    names: list[str],
    *,
    tolerance: float,
    examples: int,
) -> SkewReport:
    for side, frame in (("train", train), ("serving", serving)):
        repeated = frame.select(keys).filter(pl.struct(keys).is_duplicated())
        if repeated.height:
            raise TransformError(
                f"the key {', '.join(keys)} repeats in the {side} features, "
                f"e.g. {repeated.row(0, named=True)}",
                hint="give a key that is unique on each side",
            )
    shared = [c for c in names if c in train.columns and c in serving.columns]
    left = train.select(*keys, *[pl.col(c).alias(f"train {i}") for i, c in enumerate(shared)])
    right = serving.select(*keys, *[pl.col(c).alias(f"serving {i}") for i, c in enumerate(shared)])
    joined = left.join(right, on=list(keys), how="inner").sort(list(keys))
    results = []
    for name in names:
        problem = _missing(name, train, serving)
        if problem is not None:
            results.append(problem)
            continue
        i = shared.index(name)
        results.append(
            _compare_rows(
                joined, name, i, keys, train.schema[name], serving.schema[name], tolerance, examples
            )
        )
    return SkewReport(
        "rows",
        tuple(results),
        rows_compared=joined.height,
        train_rows=train.height,
        serving_rows=serving.height,
        key=keys,
        unmatched_train=train.height - joined.height,
        unmatched_serving=serving.height - joined.height,
        tolerance=tolerance,
    )


def _compare_rows(
    joined: pl.DataFrame,
    name: str,
    i: int,
    keys: tuple[str, ...],
    train_type: pl.DataType,
    serving_type: pl.DataType,
    tolerance: float,
    examples: int,
) -> ColumnSkew:
    a, b = pl.col(f"train {i}"), pl.col(f"serving {i}")
    diff: pl.Expr = pl.lit(None, pl.Float64)
    if is_numeric(train_type) and is_numeric(serving_type):
        a64, b64 = a.cast(pl.Float64), b.cast(pl.Float64)
        close = (a64 == b64) | ((a64 - b64).abs() <= tolerance) | (a64.is_nan() & b64.is_nan())
        one_null = a.is_null() ^ b.is_null()
        differs = pl.when(a.is_null() & b.is_null()).then(False).when(one_null).then(True).otherwise(~close)
        diff = pl.when(a64.is_finite() & b64.is_finite()).then((a64 - b64).abs())
    elif train_type == serving_type:
        differs = ~a.eq_missing(b)
    else:
        differs = ~a.cast(pl.String).eq_missing(b.cast(pl.String))
    try:
        summary = joined.select(n=differs.sum(), max=diff.max()).row(0, named=True)
        rows = joined.filter(differs).head(examples).select(*keys, a.alias("train"), b.alias("serving"))
    except pl.exceptions.PolarsError as exc:
        raise TransformError(
            f"cannot compare column '{name}': {exc}", hint="give both sides one type"
        ) from exc
    found = tuple(
        {"key": {k: row[k] for k in keys}, "train": row["train"], "serving": row["serving"]}
        for row in rows.iter_rows(named=True)
    )
    return ColumnSkew(
        name,
        differs=summary["n"] > 0,
        max_abs_diff=summary["max"],
        rows_differing=summary["n"],
        examples=found,
    )


def _by_distribution(
    train: pl.DataFrame, serving: pl.DataFrame, names: list[str], *, threshold: float, examples: int
) -> SkewReport:
    results = []
    for name in names:
        problem = _missing(name, train, serving)
        if problem is None and is_numeric(train.schema[name]) != is_numeric(serving.schema[name]):
            problem = ColumnSkew(
                name,
                True,
                examples=({"problem": f"train is {train.schema[name]}, serving is {serving.schema[name]}"},),
            )
        results.append(problem or _compare_distribution(train, serving, name, threshold, examples))
    return SkewReport(
        "distribution",
        tuple(results),
        rows_compared=serving.height,
        train_rows=train.height,
        serving_rows=serving.height,
        threshold=threshold,
    )


def _statistics(frame: pl.DataFrame, name: str) -> dict[str, float | None]:
    x = pl.col(name)
    if not is_numeric(frame.schema[name]):
        row = frame.select(null_rate=x.is_null().mean()).row(0, named=True)
        return {"null_rate": row["null_rate"]}
    finite = pl.when(x.cast(pl.Float64).is_finite()).then(x.cast(pl.Float64))
    stats = frame.select(mean=finite.mean(), std=finite.std(ddof=0), null_rate=finite.is_null().mean())
    return dict(stats.row(0, named=True))


def _shares(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    values = frame.select(pl.col(name).cast(pl.String).alias("value")).drop_nulls()
    return (
        values.group_by("value").len("count").select("value", share=pl.col("count") / max(values.height, 1))
    )


def _compare_distribution(
    train: pl.DataFrame, serving: pl.DataFrame, name: str, threshold: float, examples: int
) -> ColumnSkew:
    before, after = _statistics(train, name), _statistics(serving, name)
    scale = before.get("std") or 1.0
    distances: dict[str, float] = {}
    for stat in before:
        t, s = before[stat], after[stat]
        if t is not None and s is not None:
            distances[stat] = abs(t - s) if stat == "null_rate" else abs(t - s) / scale
    found: list[dict[str, Any]] = [
        {"statistic": stat, "train": before[stat], "serving": after[stat], "distance": d}
        for stat, d in distances.items()
        if d > threshold
    ]
    if not train.schema[name].is_float() and not train.schema[name].is_nested():
        table = _shares(train, name).join(_shares(serving, name), on="value", how="full", coalesce=True)
        table = table.fill_null(0.0).with_columns(distance=(pl.col("share") - pl.col("share_right")).abs())
        table = table.sort(["distance", "value"], descending=[True, False])
        distances["categories"] = float(table.select(pl.col("distance").max()).item() or 0.0)
        found += [
            {
                "value": row["value"],
                "train": row["share"],
                "serving": row["share_right"],
                "distance": row["distance"],
            }
            for row in table.filter(pl.col("distance") > threshold).iter_rows(named=True)
        ]
    return ColumnSkew(
        name,
        differs=bool(found),
        max_abs_diff=max(distances.values(), default=None),
        distances=distances,
        train=before,
        serving=after,
        examples=tuple(found[:examples]),
    )
