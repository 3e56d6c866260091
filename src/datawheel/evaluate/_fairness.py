"""Fairness: the same metrics per sensitive group, and how the groups are represented in the data.

Everything is read from confusion counts per group, counted in one Polars ``group_by``:
selection rate ``(TP + FP) / n``, true positive rate ``TP / (TP + FN)``, false positive rate
``FP / (FP + TN)``, precision ``TP / (TP + FP)`` (0 when the denominator is 0). Demographic
parity difference is the largest minus the smallest selection rate, its ratio the smallest over
the largest; equalised odds difference is the larger of the TPR and FPR ranges (fairlearn's
definitions). Representation counts each group in each split and under each label: bias in
the data shows there before the model amplifies it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from datawheel.errors import EvaluationError

_GROUP = "__group"


@dataclass(frozen=True)
class GroupRates:
    """The confusion counts and rates of one group; ``base_rate`` is its share of positive labels."""

    group: str
    count: int
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def selection_rate(self) -> float:
        """The share of the group predicted positive."""
        return _ratio(self.tp + self.fp, self.count)

    @property
    def tpr(self) -> float:
        """True positive rate (recall): the share of the group's positives predicted positive."""
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def fpr(self) -> float:
        """False positive rate: the share of the group's negatives predicted positive."""
        return _ratio(self.fp, self.fp + self.tn)

    @property
    def precision(self) -> float:
        """The share of the group's positive predictions that are right."""
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def base_rate(self) -> float:
        """The share of the group whose true label is positive."""
        return _ratio(self.tp + self.fn, self.count)

    def to_dict(self) -> dict[str, Any]:
        """The group in the ``--json`` shape."""
        return {
            "count": self.count,
            "selection_rate": self.selection_rate,
            "tpr": self.tpr,
            "fpr": self.fpr,
            "precision": self.precision,
            "base_rate": self.base_rate,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
        }


def _ratio(top: int, bottom: int) -> float:
    return top / bottom if bottom else 0.0


@dataclass(frozen=True)
class FairnessReport:
    """Rates per group, the gaps between groups, and the groups' representation in the data.

    ``representation`` maps ``split`` and ``label`` to ``{value: {group: {"count", "share"}}}``
    (``share``: of the rows with that split or label value).
    """

    group: tuple[str, ...]
    positive: Any
    rows: int
    groups: tuple[GroupRates, ...]
    representation: dict[str, dict[str, dict[str, dict[str, float | int]]]] = field(default_factory=dict)

    def _range(self, rates: list[float]) -> float:
        return max(rates) - min(rates) if rates else 0.0

    @property
    def demographic_parity_difference(self) -> float:
        """The largest minus the smallest selection rate of the groups."""
        return self._range([g.selection_rate for g in self.groups])

    @property
    def demographic_parity_ratio(self) -> float:
        """The smallest over the largest selection rate of the groups (1: parity)."""
        rates = [g.selection_rate for g in self.groups]
        return _ratio_float(min(rates), max(rates)) if rates else 1.0

    @property
    def equal_opportunity_difference(self) -> float:
        """The largest minus the smallest true positive rate of the groups."""
        return self._range([g.tpr for g in self.groups])

    @property
    def equalized_odds_difference(self) -> float:
        """The larger of the true positive rate range and the false positive rate range."""
        return max(self.equal_opportunity_difference, self._range([g.fpr for g in self.groups]))

    def to_dict(self) -> dict[str, Any]:
        """The stable ``--json`` shape: the differences, then ``groups`` by value, then representation."""
        return {
            "demographic_parity_difference": self.demographic_parity_difference,
            "demographic_parity_ratio": self.demographic_parity_ratio,
            "equalized_odds_difference": self.equalized_odds_difference,
            "equal_opportunity_difference": self.equal_opportunity_difference,
            "group": list(self.group),
            "positive": self.positive,
            "rows": self.rows,
            "groups": {g.group: g.to_dict() for g in self.groups},
            "representation": self.representation,
        }


def _ratio_float(top: float, bottom: float) -> float:
    return top / bottom if bottom else 1.0


def fairness_metrics(
    frame: pl.DataFrame,
    *,
    label: str,
    prediction: str,
    group: str | Sequence[str],
    positive: Any = None,
    split: str | None = "split",
) -> FairnessReport:
    """Selection rate, TPR, FPR and precision per group, with parity and equalised odds gaps.

    Args:
        frame: Labels, predictions and the sensitive column(s), one row per example.
        label: The column of true labels (two classes).
        prediction: The column of predictions.
        group: The sensitive column, or several (their combinations are the groups).
        positive: The positive class (default: ``1``, ``True``, or the greater of two classes).
        split: A column of split names, for the representation of each group per split
            (ignored when the frame lacks it).

    Example:
        >>> frame = pl.DataFrame({"y": [1, 0, 1, 0], "p": [1, 1, 0, 0], "sex": ["f", "f", "m", "m"]})
        >>> report = fairness_metrics(frame, label="y", prediction="p", group="sex")
        >>> report.demographic_parity_difference, report.equalized_odds_difference
        (1.0, 1.0)
    """
    columns = [group] if isinstance(group, str) else list(group)
    missing = [c for c in (label, prediction, *columns) if c not in frame.columns]
    if missing:
        raise EvaluationError(
            f"no column '{missing[0]}' (columns: {', '.join(frame.columns)})", hint="name an existing column"
        )
    rows = frame.filter(pl.col(label).is_not_null() & pl.col(prediction).is_not_null())
    chosen = _positive(rows, label, prediction, positive)
    keyed = rows.with_columns(_group_key(columns))
    groups = group_counts(keyed, label=label, prediction=prediction, group=_GROUP, positive=chosen)
    representation = {"label": _shares(keyed, label)}
    if split and split in frame.columns:
        representation["split"] = _shares(keyed, split)
    return FairnessReport(tuple(columns), chosen, rows.height, groups, representation)


def _group_key(columns: list[str]) -> pl.Expr:
    parts = [pl.col(c).cast(pl.String).fill_null("null") for c in columns]
    return (parts[0] if len(parts) == 1 else pl.concat_str(parts, separator=", ")).alias(_GROUP)


def _positive(rows: pl.DataFrame, label: str, prediction: str, positive: Any) -> Any:
    seen = pl.concat([rows[label], rows[prediction].cast(rows.schema[label])]).unique().sort().to_list()
    if positive is not None:
        as_text = {str(v): v for v in seen}
        positive = positive if positive in seen else as_text.get(str(positive), positive)
        if positive not in seen:
            raise EvaluationError(
                f"positive class {positive!r} is neither a label nor a prediction (seen: {seen[:10]})",
                hint="name the class that counts as selected",
            )
        return positive
    if len(seen) > 2:
        raise EvaluationError(
            f"'{label}' has {len(seen)} classes; fairness rates need a positive class",
            hint="name it with --positive",
        )
    for usual in (1, True, "1", "yes", "true"):
        if usual in seen:
            return usual
    return seen[-1]


def group_counts(
    frame: pl.DataFrame, *, label: str, prediction: str, group: str, positive: Any
) -> tuple[GroupRates, ...]:
    """The confusion counts of each value of ``group``, in one ``group_by``, groups in sorted order.

    Example:
        >>> frame = pl.DataFrame({"y": [1, 0, 1], "p": [1, 1, 1], "g": ["a", "a", "b"]})
        >>> groups = group_counts(frame, label="y", prediction="p", group="g", positive=1)
        >>> [(g.group, g.tp, g.fp) for g in groups]
        [('a', 1, 1), ('b', 1, 0)]
    """
    is_true = pl.col(label) == positive
    is_pred = pl.col(prediction).cast(frame.schema[label]) == positive
    counts = (
        frame.lazy()
        .group_by(pl.col(group).cast(pl.String))
        .agg(
            pl.len().alias("count"),
            (is_true & is_pred).sum().alias("tp"),
            (~is_true & is_pred).sum().alias("fp"),
            (is_true & ~is_pred).sum().alias("fn"),
        )
        .sort(group)
        .collect()
    )
    return tuple(
        GroupRates(
            str(r[group]), r["count"], r["tp"], r["fp"], r["fn"], r["count"] - r["tp"] - r["fp"] - r["fn"]
        )
        for r in counts.iter_rows(named=True)
    )


def _shares(frame: pl.DataFrame, by: str) -> dict[str, dict[str, dict[str, float | int]]]:
    counts = frame.group_by(pl.col(by).cast(pl.String).fill_null("null"), _GROUP).len().sort(by, _GROUP)
    totals = dict(counts.group_by(by).agg(pl.col("len").sum()).iter_rows())
    out: dict[str, dict[str, dict[str, float | int]]] = {}
    for value, name, count in counts.iter_rows():
        out.setdefault(value, {})[name] = {"count": count, "share": count / totals[value]}
    return out
