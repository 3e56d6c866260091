"""Slices: where a model fails, by the value of a metadata column or of two at once.

Each slice gets its metric, its size, how much worse it is than the overall, and a test of
whether that difference is chance: for classification an exact binomial test of the slice's
errors against the error rate of the rest of the rows, for regression Welch's t-test of the
absolute errors, both two-sided, then Benjamini-Hochberg over all slices tested. Significant
slices come first, so a tiny slice with two unlucky rows does not top the list; among them the
slice whose gap is largest even at the low end of its 95% interval comes first, so a slice
beats its own noisy sub-slices (``site=east`` before ``site=east, sex=m`` when both fail alike).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from datawheel.errors import EvaluationError

SOURCE = "_source"
ROW_ID = "_row_id"
_WRONG = "__wrong"
_ABS = "__abs_error"


@dataclass(frozen=True)
class Slice:
    """One slice: the rows whose ``columns`` hold ``values``, and how the model does on them.

    ``gap`` is how much worse than the overall the slice is (positive: worse), in the metric's
    unit, and ``gap_low`` the least it is worse with 95% confidence (Wilson bound of the slice's
    error rate, or the mean absolute error less 1.96 standard errors); ``q_value`` is the p-value
    after Benjamini-Hochberg.
    """

    columns: tuple[str, ...]
    values: tuple[Any, ...]
    count: int
    metric: str
    value: float
    gap: float
    gap_low: float
    p_value: float
    q_value: float
    significant: bool
    errors: int | None = None
    examples: tuple[dict[str, Any], ...] = ()

    @property
    def name(self) -> str:
        """The slice as people read it: ``factory=B, line=3``."""
        return ", ".join(f"{c}={v}" for c, v in zip(self.columns, self.values, strict=True))

    def to_dict(self) -> dict[str, Any]:
        """The slice in the ``--json`` shape."""
        return {
            "slice": self.name,
            "columns": dict(zip(self.columns, self.values, strict=True)),
            "count": self.count,
            "metric": self.metric,
            "value": self.value,
            "gap": self.gap,
            "gap_low": self.gap_low,
            "errors": self.errors,
            "p_value": self.p_value,
            "q_value": self.q_value,
            "significant": self.significant,
            "examples": list(self.examples),
        }


@dataclass(frozen=True)
class SliceReport:
    """Every slice, significant ones first and worst first, and the overall metric."""

    metric: str
    overall: float
    rows: int
    by: tuple[str, ...]
    alpha: float
    slices: tuple[Slice, ...] = field(default_factory=tuple)

    @property
    def significant(self) -> tuple[Slice, ...]:
        """The slices whose difference from the rest is not chance (q below ``alpha``), worse ones."""
        return tuple(s for s in self.slices if s.significant and s.gap > 0)

    def to_dict(self) -> dict[str, Any]:
        """The stable ``--json`` shape: ``slices`` worst first, each with ``slice``, ``count``, ``value``."""
        return {
            "metric": self.metric,
            "overall": self.overall,
            "rows": self.rows,
            "by": list(self.by),
            "alpha": self.alpha,
            "significant": len(self.significant),
            "slices": [s.to_dict() for s in self.slices],
        }


def find_slices(
    frame: pl.DataFrame,
    *,
    label: str,
    prediction: str,
    by: Sequence[str],
    pairs: bool = True,
    regression: bool | None = None,
    score: str | None = None,
    alpha: float = 0.05,
    min_count: int = 1,
    examples: int = 5,
    explain: int = 10,
) -> SliceReport:
    """Metrics per value of each ``by`` column (and each pair of them), worst significant first.

    Args:
        frame: Labels, predictions and metadata columns, one row per example.
        label: The column of true labels.
        prediction: The column of predictions.
        by: The metadata columns to slice by.
        pairs: Also slice by each pair of ``by`` columns.
        regression: Numeric targets (metric: MAE); default: when the label is a float column.
        score: A column whose highest values mark the most confident rows: the examples of a
            slice are its wrong rows, most confident first.
        alpha: The false discovery rate of Benjamini-Hochberg.
        min_count: Slices with fewer rows are left out.
        examples: How many wrong rows to list for each slice explained.
        explain: How many of the first slices get examples (with ``_source`` when present).

    Example:
        >>> frame = pl.DataFrame({
        ...     "y": [0, 1] * 200, "site": ["a", "b", "c", "d"] * 100,
        ... }).with_columns(p=pl.when(pl.col("site") == "c").then(1 - pl.col("y")).otherwise(pl.col("y")))
        >>> report = find_slices(frame, label="y", prediction="p", by=["site"])
        >>> report.slices[0].name, report.slices[0].value, report.slices[0].significant
        ('site=c', 0.0, True)
    """
    missing = [c for c in (label, prediction, *by) if c not in frame.columns]
    if missing:
        raise EvaluationError(
            f"no column '{missing[0]}' (columns: {', '.join(frame.columns)})", hint="name an existing column"
        )
    if not by:
        raise EvaluationError("slices need at least one column to slice by", hint="pass --by COLUMN")
    is_regression = frame.schema[label].is_float() if regression is None else regression
    rows = _with_errors(frame, label, prediction, is_regression)
    groups: list[tuple[str, ...]] = [(c,) for c in by] + (
        list(itertools.combinations(by, 2)) if pairs else []
    )
    totals, found = _grouped(rows, groups, is_regression)
    found = found.filter(pl.col("count") >= min_count)
    overall, slices = _ranked(found, totals, rows.height, is_regression, alpha)
    explained = [
        _with_examples(s, rows, label, prediction, score, examples) if i < explain else s
        for i, s in enumerate(slices)
    ]
    metric = "mae" if is_regression else "accuracy"
    return SliceReport(metric, overall, rows.height, tuple(by), alpha, tuple(explained))


def _with_errors(frame: pl.DataFrame, label: str, prediction: str, regression: bool) -> pl.DataFrame:
    rows = frame.filter(pl.col(label).is_not_null() & pl.col(prediction).is_not_null())
    if rows.height == 0:
        raise EvaluationError(f"no row has both '{label}' and '{prediction}'", hint="check the columns")
    if regression:
        error = (pl.col(prediction).cast(pl.Float64) - pl.col(label).cast(pl.Float64)).abs()
        return rows.with_columns(error.alias(_ABS))
    wrong = pl.col(label).cast(pl.String) != pl.col(prediction).cast(pl.String)
    return rows.with_columns(wrong.cast(pl.Int64).alias(_WRONG))


def _grouped(
    rows: pl.DataFrame, groups: list[tuple[str, ...]], regression: bool
) -> tuple[tuple[float, float], pl.DataFrame]:
    """The error sums of all rows, and per slice its columns, values, count and error sums."""
    error = pl.col(_ABS) if regression else pl.col(_WRONG).cast(pl.Float64)
    sums = [error.sum().alias("s1"), (error**2).sum().alias("s2")]
    queries = [
        rows.lazy()
        .group_by(list(cols))
        .agg(pl.len().alias("count"), *sums)
        .select(
            pl.lit(list(cols), pl.List(pl.String)).alias("columns"),
            pl.concat_list([pl.col(c).cast(pl.String) for c in cols]).alias("values"),
            "count",
            "s1",
            "s2",
        )
        for cols in groups
    ]
    totals, *found = pl.collect_all([rows.lazy().select(sums), *queries])
    return (float(totals["s1"][0]), float(totals["s2"][0])), pl.concat(found)


def _ranked(
    found: pl.DataFrame, totals: tuple[float, float], total_rows: int, regression: bool, alpha: float
) -> tuple[float, list[Slice]]:
    n = found["count"].to_numpy().astype(np.float64)
    s1, s2 = found["s1"].to_numpy(), found["s2"].to_numpy()
    p = (_welch if regression else _binomial)(n, s1, s2, totals, total_rows)
    q = benjamini_hochberg(p)
    mean = s1 / n
    overall = totals[0] / total_rows if regression else 1.0 - totals[0] / total_rows
    value = mean if regression else 1.0 - mean
    gap = value - overall if regression else overall - value
    significant = q <= alpha
    low = _gap_low(n, s1, s2, overall, regression)
    order = np.lexsort((-n, -gap, -low, ~(significant & (gap > 0))))
    columns, values = found["columns"].to_list(), found["values"].to_list()
    metric = "mae" if regression else "accuracy"
    return overall, [
        Slice(
            tuple(columns[i]),
            tuple(values[i]),
            int(n[i]),
            metric,
            float(value[i]),
            float(gap[i]),
            float(low[i]),
            float(p[i]),
            float(q[i]),
            bool(significant[i]),
            None if regression else int(s1[i]),
        )
        for i in order
    ]


Array = np.ndarray[Any, np.dtype[np.float64]]
_Z = 1.959963984540054


def _gap_low(n: Array, s1: Array, s2: Array, overall: float, regression: bool) -> Array:
    """The gap at the low end of its 95% interval: Wilson bound of the error rate, or MAE - 1.96 SE."""
    mean = s1 / n
    if regression:
        spread = np.sqrt(np.maximum(s2 / n - mean**2, 0.0) / np.maximum(n - 1, 1))
        return np.asarray(mean - _Z * spread - overall, dtype=np.float64)
    z2 = _Z**2
    centre = (mean + z2 / (2 * n)) / (1 + z2 / n)
    half = _Z * np.sqrt(mean * (1 - mean) / n + z2 / (4 * n**2)) / (1 + z2 / n)
    return np.asarray(centre - half - (1 - overall), dtype=np.float64)


def _binomial(n: Array, s1: Array, s2: Array, totals: tuple[float, float], total: int) -> Array:
    """Two-sided exact binomial test of each slice's errors against the error rate of the rest."""
    from scipy import stats

    rest = total - n
    ok = rest > 0
    rest_rate = np.clip((totals[0] - s1) / np.where(ok, rest, 1), 0.0, 1.0)
    worse = stats.binom.sf(s1 - 1, n, rest_rate)
    better = stats.binom.cdf(s1, n, rest_rate)
    return np.where(ok, np.minimum(1.0, 2 * np.minimum(worse, better)), 1.0).astype(np.float64)


def _welch(n: Array, s1: Array, s2: Array, totals: tuple[float, float], total: int) -> Array:
    """Two-sided Welch t-test of each slice's absolute errors against the rest's, from sums."""
    from scipy import stats

    ok = total - n > 0
    rest = np.where(ok, total - n, 1)
    mean_a, mean_b = s1 / n, (totals[0] - s1) / rest
    var_a = np.maximum(s2 / n - mean_a**2, 0.0) * n / np.maximum(n - 1, 1)
    var_b = np.maximum((totals[1] - s2) / rest - mean_b**2, 0.0) * rest / np.maximum(rest - 1, 1)
    se2 = var_a / n + var_b / rest
    usable = ok & (n > 1) & (se2 > 0)
    se2 = np.where(usable, se2, 1.0)
    t = (mean_a - mean_b) / np.sqrt(se2)
    denominator = (var_a / n) ** 2 / np.maximum(n - 1, 1) + (var_b / rest) ** 2 / np.maximum(rest - 1, 1)
    dof = se2**2 / np.where(denominator > 0, denominator, 1.0)
    return np.where(usable, 2 * stats.t.sf(np.abs(t), np.maximum(dof, 1.0)), 1.0).astype(np.float64)


def benjamini_hochberg(p: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Benjamini-Hochberg adjusted p-values (q-values), in the order given.

    Example:
        >>> benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.5])).round(3).tolist()
        [0.04, 0.053, 0.053, 0.5]
    """
    m = p.size
    if m == 0:
        return np.asarray(p, dtype=np.float64)
    order = np.argsort(p)
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    q = np.empty(m, dtype=np.float64)
    q[order] = np.minimum(adjusted, 1.0)
    return q


def _with_examples(
    found: Slice, rows: pl.DataFrame, label: str, prediction: str, score: str | None, limit: int
) -> Slice:
    """The slice with its worst rows: wrong ones (largest errors), most confident first, with provenance."""
    if limit <= 0:
        return found
    inside = pl.all_horizontal(
        [
            pl.col(c).cast(pl.String).is_null() if v is None else pl.col(c).cast(pl.String) == v
            for c, v in zip(found.columns, found.values, strict=True)
        ]
    )
    worst = _ABS if _ABS in rows.columns else _WRONG
    picked = rows.filter(inside & (pl.col(worst) > 0))
    order = [worst, score] if score and score in rows.columns else [worst]
    picked = picked.sort(order, descending=True, nulls_last=True).head(limit)
    keep = [c for c in (ROW_ID, label, prediction, score, *found.columns, SOURCE) if c and c in rows.columns]
    listed = tuple(picked.select(list(dict.fromkeys(keep))).to_dicts())
    return Slice(**{**found.__dict__, "examples": listed})
