"""Agreement between annotators: Cohen's kappa, Fleiss' kappa, Krippendorff's alpha, percent agreement.

Everything is computed from counts, never by looping over items: the votes per item and
class (an ``items x classes`` matrix), the coincidence matrix built from it, and the pairs of
annotators who labelled the same item (one Polars self-join, then group-by).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl

from datawheel.errors import LabelError
from datawheel.label._annotations import Annotations, FloatArray, encode, finite, records

Level = Literal["nominal", "ordinal", "interval"]
LEVELS: tuple[Level, ...] = ("nominal", "ordinal", "interval")


@dataclass(frozen=True)
class Agreement:
    """How far annotators agree, overall and per pair, label, annotator and period.

    ``percent_agreement`` is the share of agreeing pairs of labels on an item, averaged over
    items with two labels or more. ``cohen_kappa`` has one row per pair of annotators who
    labelled a common item; ``confusion`` counts, per pair, which label each gave.
    """

    fleiss_kappa: float
    krippendorff_alpha: float
    percent_agreement: float
    cohen_kappa: pl.DataFrame
    per_label: pl.DataFrame
    per_annotator: pl.DataFrame
    confusion: pl.DataFrame
    level: Level
    items: int
    annotators: int
    annotations: int
    over_time: pl.DataFrame | None = None

    def to_dict(self) -> dict[str, Any]:
        """The stable ``--json`` shape (NaN, where a statistic is undefined, becomes null)."""
        return {
            "fleiss_kappa": finite(self.fleiss_kappa),
            "krippendorff_alpha": finite(self.krippendorff_alpha),
            "percent_agreement": finite(self.percent_agreement),
            "level": self.level,
            "items": self.items,
            "annotators": self.annotators,
            "annotations": self.annotations,
            "cohen_kappa": records(self.cohen_kappa),
            "per_label": records(self.per_label),
            "per_annotator": records(self.per_annotator),
            "confusion": records(self.confusion),
            "over_time": records(self.over_time) if self.over_time is not None else None,
        }


def agreement(
    frame: pl.DataFrame,
    *,
    item: str = "item",
    annotator: str = "annotator",
    label: str = "label",
    level: Level = "nominal",
    labels: Sequence[Any] | None = None,
    items: Sequence[Any] | pl.Series | None = None,
    time: str | None = None,
    every: str = "1d",
) -> Agreement:
    """Measure agreement between the annotators of ``frame`` (one row per annotation).

    Args:
        frame: Annotations: item, annotator, label; a null label is a missing vote.
        item: The item column.
        annotator: The annotator column.
        label: The label column.
        level: How labels compare in Krippendorff's alpha: ``nominal`` (equal or not),
            ``ordinal`` (by rank in sorted order) or ``interval`` (by numeric difference).
        labels: The label set; a label outside it is an error.
        items: The known items; an annotation of another item is an error.
        time: A column of times: adds ``over_time``, the statistics per period.
        every: The period for ``time`` (a Polars duration such as ``1d``, ``1w``, ``1mo``).

    Returns:
        The statistics, with the tables per pair, label and annotator.

    Raises:
        LabelError: Fewer than two annotators, no item with two labels, or bad input.

    Example:
        >>> votes = pl.DataFrame({
        ...     "item": [1, 1, 2, 2, 3, 3, 4, 4],
        ...     "annotator": ["ann", "bo"] * 4,
        ...     "label": ["spam", "spam", "ham", "ham", "spam", "ham", "ham", "ham"],
        ... })
        >>> result = agreement(votes)
        >>> result.percent_agreement, round(result.cohen_kappa["kappa"][0], 3)
        (0.75, 0.5)
    """
    if level not in LEVELS:
        raise LabelError(f"unknown level '{level}'", hint=f"use one of {', '.join(LEVELS)}")
    codes = encode(frame, item=item, annotator=annotator, label=label, labels=labels, items=items)
    if codes.annotators.len() < 2:
        raise LabelError(
            f"agreement needs two annotators or more; '{annotator}' names only {codes.annotators.to_list()}",
            hint="agreement compares annotators: collect a second label on some items",
        )
    counts = codes.counts()
    if int((counts.sum(axis=1) >= 2).sum()) == 0:
        raise LabelError(
            f"no item in '{item}' has labels from two annotators",
            hint="agreement is measured on items labelled more than once",
        )
    fleiss, percent, alpha = _summary(counts, codes.classes, level)
    pairs = _pair_counts(codes)
    return Agreement(
        fleiss_kappa=fleiss,
        krippendorff_alpha=alpha,
        percent_agreement=percent,
        cohen_kappa=_cohen(pairs, codes),
        per_label=_per_label(counts, codes.classes, label),
        per_annotator=_per_annotator(pairs, codes, annotator),
        confusion=_named_confusion(pairs, codes),
        level=level,
        items=int((counts.sum(axis=1) >= 2).sum()),
        annotators=codes.annotators.len(),
        annotations=codes.item.size,
        over_time=None
        if time is None
        else _over_time(frame, (item, annotator, label, time), every, level, labels),
    )


def fleiss_kappa(counts: FloatArray) -> tuple[float, float]:
    """Fleiss' kappa and percent agreement from votes per item and class (items x classes).

    Items may have different numbers of raters (the generalised form): each item with ``m_i >= 2``
    votes has observed agreement ``P_i = sum_c n_ic (n_ic - 1) / (m_i (m_i - 1))``; ``P`` is their
    mean; ``p_c`` is class ``c``'s share of all their votes, ``P_e = sum_c p_c^2``, and
    ``kappa = (P - P_e) / (1 - P_e)``. With the same number of raters everywhere this is Fleiss (1971).
    Items with one vote are left out.

    Example:
        >>> [round(x, 4) for x in fleiss_kappa(np.array([[2.0, 0.0], [0.0, 2.0], [1.0, 1.0]]))]
        [0.3333, 0.6667]
    """
    m = counts.sum(axis=1)
    pairable = m >= 2
    n, m = counts[pairable], m[pairable]
    if n.shape[0] == 0:
        return float("nan"), float("nan")
    observed = float(((n * (n - 1)).sum(axis=1) / (m * (m - 1))).mean())
    shares = n.sum(axis=0) / m.sum()
    expected = float((shares**2).sum())
    kappa = (observed - expected) / (1 - expected) if expected < 1 else float("nan")
    return kappa, observed


def krippendorff_alpha(
    counts: FloatArray, *, values: FloatArray | None = None, level: Level = "nominal"
) -> float:
    """Krippendorff's alpha from votes per item and class (items x classes); missing votes allowed.

    The coincidence matrix is ``o_ck = sum_u n_uc (n_uk - [c = k]) / (m_u - 1)`` over items with
    ``m_u >= 2`` votes; ``alpha = 1 - (n - 1) sum o_ck d_ck / sum n_c n_k d_ck`` with the squared
    difference ``d`` of the level: nominal (0 or 1), ordinal (ranks by the classes' order) or
    interval (``values``, the classes as numbers).

    Example:
        >>> round(krippendorff_alpha(np.array([[2.0, 0.0], [0.0, 2.0], [1.0, 1.0]])), 4)
        0.4444
    """
    coincidence = _coincidence(counts)
    totals = coincidence.sum(axis=1)
    n = totals.sum()
    delta = _delta(totals, values, level)
    expected = float((np.outer(totals, totals) * delta).sum())
    if n <= 1 or expected == 0:
        return float("nan")
    return float(1 - (n - 1) * (coincidence * delta).sum() / expected)


def _summary(counts: FloatArray, classes: pl.Series, level: Level) -> tuple[float, float, float]:
    kappa, percent = fleiss_kappa(counts)
    values = _numeric(classes) if level == "interval" else None
    return kappa, percent, krippendorff_alpha(counts, values=values, level=level)


def _coincidence(counts: FloatArray) -> FloatArray:
    m = counts.sum(axis=1)
    pairable = m >= 2
    n = counts[pairable]
    weighted = n * (1.0 / (m[pairable] - 1))[:, None]
    within: FloatArray = weighted.T @ n
    within -= np.diag(weighted.sum(axis=0))
    return within


def _delta(totals: FloatArray, values: FloatArray | None, level: Level) -> FloatArray:
    k = totals.size
    if level == "nominal":
        return 1.0 - np.eye(k)
    if level == "interval":
        v = np.arange(k, dtype=np.float64) if values is None else values
        return np.subtract.outer(v, v) ** 2
    before = np.concatenate([[0.0], np.cumsum(totals)])
    low, high = np.minimum.outer(np.arange(k), np.arange(k)), np.maximum.outer(np.arange(k), np.arange(k))
    between = before[high + 1] - before[low]
    return np.asarray((between - (totals[low] + totals[high]) / 2) ** 2, dtype=np.float64)


def _numeric(classes: pl.Series) -> FloatArray:
    if not classes.dtype.is_numeric():
        raise LabelError(
            f"interval agreement needs numeric labels; '{classes.name}' holds {classes.dtype}",
            hint="use level 'nominal' or 'ordinal' for labels that are not numbers",
        )
    return classes.cast(pl.Float64).to_numpy()


def _pair_counts(codes: Annotations) -> pl.DataFrame:
    """Per pair of annotators (a < b) and pair of labels, how many items got them."""
    votes = pl.LazyFrame(
        {
            "i": codes.item.astype(np.int32),
            "a": codes.annotator.astype(np.int32),
            "l": codes.label.astype(np.int32),
        }
    )
    return (
        votes.join(votes, on="i", suffix="_b")
        .filter(pl.col("a") < pl.col("a_b"))
        .group_by("a", "a_b", "l", "l_b")
        .agg(pl.len().cast(pl.Int64).alias("count"))
        .sort("a", "a_b", "l", "l_b")
        .collect()
    )


def _cohen(pairs: pl.DataFrame, codes: Annotations) -> pl.DataFrame:
    rows = pairs.group_by("a", "a_b", pl.col("l").alias("c")).agg(pl.col("count").sum().alias("row"))
    cols = pairs.group_by("a", "a_b", pl.col("l_b").alias("c")).agg(pl.col("count").sum().alias("col"))
    expected = (
        rows.join(cols, on=["a", "a_b", "c"])
        .group_by("a", "a_b")
        .agg((pl.col("row") * pl.col("col")).sum().cast(pl.Float64).alias("rc"))
    )
    table = (
        pairs.group_by("a", "a_b")
        .agg(
            pl.col("count").sum().alias("items"),
            pl.col("count").filter(pl.col("l") == pl.col("l_b")).sum().alias("agree"),
        )
        .join(expected, on=["a", "a_b"], how="left")
        .with_columns(pl.col("rc").fill_null(0.0))
        .with_columns(
            (pl.col("agree") / pl.col("items")).alias("agreement"),
            (pl.col("rc") / pl.col("items").cast(pl.Float64) ** 2).alias("p_e"),
        )
        .with_columns(
            pl.when(pl.col("p_e") < 1)
            .then((pl.col("agreement") - pl.col("p_e")) / (1 - pl.col("p_e")))
            .otherwise(float("nan"))
            .alias("kappa")
        )
        .sort("a", "a_b")
    )
    return pl.DataFrame(
        {
            "annotator_a": codes.annotators.gather(table["a"]),
            "annotator_b": codes.annotators.gather(table["a_b"]),
            "items": table["items"],
            "agreement": table["agreement"],
            "kappa": table["kappa"],
        }
    )


def _per_label(counts: FloatArray, classes: pl.Series, column: str) -> pl.DataFrame:
    m = counts.sum(axis=1)
    pairable = m >= 2
    n, mp = counts[pairable], m[pairable][:, None]
    share = n.sum(axis=0) / mp.sum()
    agree = (n * (n - 1)).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        specific = agree / (n * (mp - 1)).sum(axis=0)
        disagreement = (n * (mp - n)).sum(axis=0)
        kappa = 1 - disagreement / (share * (1 - share) * (mp * (mp - 1)).sum())
    return pl.DataFrame(
        {
            column: classes,
            "count": counts.sum(axis=0).astype(np.int64),
            "share": counts.sum(axis=0) / counts.sum(),
            "specific_agreement": specific,
            "kappa": kappa,
        }
    )


def _per_annotator(pairs: pl.DataFrame, codes: Annotations, column: str) -> pl.DataFrame:
    flipped = pairs.select(
        pl.col("a_b").alias("a"),
        pl.col("a").alias("a_b"),
        pl.col("l_b").alias("l"),
        pl.col("l").alias("l_b"),
        "count",
    )
    both = pl.concat([pairs, flipped])
    stats = both.group_by("a").agg(
        pl.col("count").sum().alias("pairs"),
        (pl.col("count").filter(pl.col("l") == pl.col("l_b")).sum() / pl.col("count").sum()).alias(
            "agreement"
        ),
    )
    count = np.bincount(codes.annotator, minlength=codes.annotators.len())
    base = pl.DataFrame({"a": np.arange(codes.annotators.len(), dtype=np.int32), "count": count})
    joined = base.join(stats, on="a", how="left").sort("a")
    return pl.DataFrame(
        {
            column: codes.annotators,
            "count": joined["count"],
            "pairs": joined["pairs"].fill_null(0),
            "agreement": joined["agreement"],
        }
    )


def _named_confusion(pairs: pl.DataFrame, codes: Annotations) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "annotator_a": codes.annotators.gather(pairs["a"]),
            "annotator_b": codes.annotators.gather(pairs["a_b"]),
            "label_a": codes.classes.gather(pairs["l"]),
            "label_b": codes.classes.gather(pairs["l_b"]),
            "count": pairs["count"],
        }
    )


def _over_time(
    frame: pl.DataFrame,
    columns: tuple[str, str, str, str],
    every: str,
    level: Level,
    labels: Sequence[Any] | None,
) -> pl.DataFrame:
    item, annotator, label, time = columns
    if time not in frame.columns:
        raise LabelError(f"no time column '{time}'", hint="name an existing column with --time")
    period = pl.col(time).dt.truncate(every) if frame.schema[time].is_temporal() else pl.col(time)
    frame = frame.with_columns(period.alias("_period"))
    rows = []
    for (when,), part in frame.group_by("_period", maintain_order=False):
        codes = encode(part, item=item, annotator=annotator, label=label, labels=labels)
        counts = codes.counts()
        fleiss, percent, alpha = _summary(counts, codes.classes, level)
        rows.append((when, int((counts.sum(axis=1) >= 2).sum()), codes.item.size, fleiss, alpha, percent))
    schema = ["period", "items", "annotations", "fleiss_kappa", "krippendorff_alpha", "percent_agreement"]
    return pl.DataFrame(rows, schema=schema, orient="row").sort("period")
