"""Annotations as codes: a frame of (item, annotator, label) checked and turned into integer arrays.

Every label-quality function starts here, so the checks (columns exist, labels inside a given
label set, items inside a given item list, one vote per item and annotator) read the same
everywhere. Codes follow the sorted order of the values, so results are stable.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from datawheel.errors import LabelError

IntArray = np.ndarray[Any, np.dtype[np.int64]]
FloatArray = np.ndarray[Any, np.dtype[np.float64]]


class LabelWarning(UserWarning):
    """Annotations were usable but odd: repeated votes, items with one vote only."""


@dataclass(frozen=True)
class Annotations:
    """Annotations as codes: ``item[a]``, ``annotator[a]``, ``label[a]`` for each annotation ``a``.

    ``items``, ``annotators`` and ``classes`` hold the values the codes stand for, sorted.
    """

    item: IntArray
    annotator: IntArray
    label: IntArray
    items: pl.Series
    annotators: pl.Series
    classes: pl.Series

    @property
    def n_items(self) -> int:
        """How many distinct items carry at least one label."""
        return self.items.len()

    @property
    def n_classes(self) -> int:
        """How many distinct labels there are (or were given as the label set)."""
        return self.classes.len()

    def counts(self) -> FloatArray:
        """Votes per item and class: an ``items x classes`` matrix."""
        k = self.n_classes
        flat = np.bincount(self.item * k + self.label, minlength=self.n_items * k)
        return flat.reshape(self.n_items, k).astype(np.float64)


def encode(
    frame: pl.DataFrame,
    *,
    item: str,
    annotator: str,
    label: str,
    labels: Sequence[Any] | None = None,
    items: Sequence[Any] | pl.Series | None = None,
) -> Annotations:
    """Check the annotations and turn them into codes; rows with no label are missing votes.

    Args:
        frame: One row per annotation.
        item: The column naming the item labelled.
        annotator: The column naming who labelled it.
        label: The column holding the label given.
        labels: The label set; a label outside it is an error. Defaults to the labels seen.
        items: The known items; an annotation of another item is an error.

    Raises:
        LabelError: A column is missing, a label is outside ``labels``, an item is unknown,
            or no annotation is left.
    """
    _check_columns(frame, (item, annotator, label))
    rows = frame.select(item, annotator, label).filter(
        pl.col(label).is_not_null() & pl.col(item).is_not_null() & pl.col(annotator).is_not_null()
    )
    if rows.height == 0:
        raise LabelError(f"no annotations with an '{label}' label", hint="check the label column")
    rows = _one_vote_each(rows, item, annotator)
    if items is not None:
        _check_items(rows[item], pl.Series(items), item)
    classes = _classes(rows[label], labels, label)
    item_values = rows[item].unique().sort()
    annotator_values = rows[annotator].unique().sort()
    return Annotations(
        _codes(rows[item], item_values),
        _codes(rows[annotator], annotator_values),
        _codes(rows[label], classes),
        item_values,
        annotator_values,
        classes,
    )


def _check_columns(frame: pl.DataFrame, columns: Sequence[str]) -> None:
    for column in columns:
        if column not in frame.columns:
            raise LabelError(
                f"no column '{column}' (columns: {', '.join(frame.columns)})",
                hint="name the item, annotator and label columns with --item, --annotator, --label",
            )


def _one_vote_each(rows: pl.DataFrame, item: str, annotator: str) -> pl.DataFrame:
    unique = rows.unique(subset=[item, annotator], keep="last", maintain_order=True)
    if unique.height < rows.height:
        warnings.warn(
            f"{rows.height - unique.height} repeated votes of the same annotator on the same item; "
            "the last of each is kept",
            LabelWarning,
            stacklevel=3,
        )
    return unique


def _check_items(seen: pl.Series, known: pl.Series, column: str) -> None:
    distinct = seen.unique()
    unknown = distinct.filter(~distinct.is_in(known.cast(seen.dtype, strict=False).implode()))
    if unknown.len():
        shown = ", ".join(str(v) for v in unknown.sort().head(5).to_list())
        raise LabelError(
            f"{unknown.len()} annotated items are not among the known items in '{column}' (e.g. {shown})",
            hint="annotate only items of the dataset, or pass the right items table",
        )


def _classes(values: pl.Series, labels: Sequence[Any] | None, column: str) -> pl.Series:
    if labels is None:
        return values.unique().sort()
    allowed = pl.Series(column, list(labels)).cast(values.dtype, strict=False)
    if allowed.null_count():
        raise LabelError(
            f"the label set {list(labels)} does not fit the type of '{column}' ({values.dtype})",
            hint="give labels of the same type as the label column",
        )
    distinct = values.unique()
    outside = distinct.filter(~distinct.is_in(allowed.implode()))
    if outside.len():
        shown = ", ".join(repr(v) for v in outside.sort().head(5).to_list())
        raise LabelError(
            f"'{column}' holds {outside.len()} labels outside the label set {list(labels)}: {shown}",
            hint="fix those labels, or add them to the label set",
        )
    return allowed.unique().sort()


def _codes(values: pl.Series, domain: pl.Series) -> IntArray:
    index = pl.DataFrame({"v": domain, "code": np.arange(domain.len(), dtype=np.int64)})
    joined = pl.DataFrame({"v": values}).join(index, on="v", how="left", maintain_order="left")
    return joined["code"].to_numpy().astype(np.int64)


def finite(value: float) -> float | None:
    """``value``, or None where it is not a number (JSON has no NaN)."""
    return None if value is None or not np.isfinite(value) else float(value)


def records(frame: pl.DataFrame | None) -> list[dict[str, Any]]:
    """A frame as JSON-ready rows: NaN becomes None."""
    if frame is None:
        return []
    floats = [c for c, t in frame.schema.items() if t.is_float()]
    clean = frame.with_columns(pl.col(c).fill_nan(None) for c in floats)
    return clean.to_dicts()
