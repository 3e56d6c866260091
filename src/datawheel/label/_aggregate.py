"""One label per item from several annotators: majority vote, Dawid-Skene, CROWDLAB.

Majority vote counts votes. Its tie rule: among the labels with the most votes, the one most
frequent over all annotations wins; if still tied, the first in sorted order. ``confidence`` is
the winner's share of the item's votes.

Dawid-Skene (1979) fits, by expectation-maximisation, each annotator's confusion matrix
(``P(given label | true label)``) and the class priors, and gives each item a posterior over
classes. It starts from the majority-vote shares, adds ``smoothing`` pseudo-counts to every
cell of every confusion matrix and prior, and stops when the log-likelihood gains less than
``tol`` (relative) or after ``max_iter`` rounds. Each round is a few ``bincount`` calls over all
annotations: no loop over items.

CROWDLAB (cleanlab's ``get_label_quality_multiannotator``) also weighs a model's predicted
probabilities, when there are any.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl

from datawheel.errors import LabelError
from datawheel.label._annotations import Annotations, FloatArray, IntArray, LabelWarning, encode, records
from datawheel.label._em import Votes, dawid_skene_em

Method = Literal["majority", "dawid-skene", "crowdlab"]
METHODS: tuple[Method, ...] = ("majority", "dawid-skene", "crowdlab")
SMOOTHING = 0.01
TOLERANCE = 1e-6
MAX_ITER = 100


@dataclass(frozen=True)
class Aggregation:
    """Labels agreed from several annotators, and how good each annotator seems.

    ``labels`` has one row per item (whatever the input's column names): ``item``, ``label``,
    ``confidence``, ``decided_by`` (``unanimous``, ``majority``, ``tie-break``, ``dawid-skene`` or
    ``crowdlab``) and ``votes``.
    ``annotators`` has one row per annotator: ``annotator``, ``count`` and ``accuracy`` (an
    estimate: agreement with the aggregated label for majority vote, the expected share of correct
    labels under the posteriors for Dawid-Skene, cleanlab's annotator quality for CROWDLAB).
    For Dawid-Skene, ``confusion[j, t, g]`` is ``P(annotator j gives classes[g] | truth classes[t])``
    and ``posteriors[i, t]`` is ``P(item i is classes[t])``, items in the order of ``labels``.
    """

    method: Method
    labels: pl.DataFrame
    annotators: pl.DataFrame
    classes: tuple[Any, ...]
    posteriors: FloatArray | None = None
    confusion: FloatArray | None = None
    priors: FloatArray | None = None
    iterations: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The stable ``--json`` shape: ``labels`` (item, label, confidence, …) and ``annotators``."""
        out: dict[str, Any] = {
            "method": self.method,
            "items": self.labels.height,
            "classes": list(self.classes),
            "labels": records(self.labels),
            "annotators": records(self.annotators),
        }
        if self.confusion is not None and self.priors is not None:
            names = [str(c) for c in self.classes]
            out["iterations"] = self.iterations
            out["priors"] = dict(zip(names, self.priors.round(6).tolist(), strict=True))
            out["confusion"] = {
                str(who): {
                    t: dict(zip(names, row, strict=True))
                    for t, row in zip(names, m.round(6).tolist(), strict=True)
                }
                for who, m in zip(self.annotators["annotator"].to_list(), self.confusion, strict=True)
            }
        return out


def aggregate(
    frame: pl.DataFrame,
    *,
    method: Method = "majority",
    item: str = "item",
    annotator: str = "annotator",
    label: str = "label",
    probabilities: FloatArray | pl.DataFrame | None = None,
    labels: Sequence[Any] | None = None,
    items: Sequence[Any] | pl.Series | None = None,
    smoothing: float = SMOOTHING,
    tol: float = TOLERANCE,
    max_iter: int = MAX_ITER,
) -> Aggregation:
    """Agree one label per item from the annotations of ``frame`` (one row per annotation).

    Args:
        frame: Annotations: item, annotator, label; a null label is a missing vote.
        method: ``majority``, ``dawid-skene``, or ``crowdlab`` (needs ``probabilities``).
        item: The item column.
        annotator: The annotator column.
        label: The label column.
        probabilities: A model's class probabilities per item, for CROWDLAB: an array (items in
            sorted order, classes in sorted order) or a frame with the item column and one column
            per class (named as the class, as text).
        labels: The label set; a label outside it is an error.
        items: The known items; an annotation of another item is an error.
        smoothing: Dawid-Skene's pseudo-count added to every confusion cell and prior.
        tol: Dawid-Skene stops when the log-likelihood gains less than this, relatively.
        max_iter: Dawid-Skene stops after this many rounds at most.

    Returns:
        One label per item with its confidence, and the annotator quality table.

    Example:
        >>> votes = pl.DataFrame({
        ...     "item": [1, 1, 1, 2, 2, 2],
        ...     "annotator": ["ann", "bo", "cy"] * 2,
        ...     "label": ["spam", "spam", "ham", "ham", "ham", "ham"],
        ... })
        >>> aggregate(votes).labels.select("item", "label", "decided_by").rows()
        [(1, 'spam', 'majority'), (2, 'ham', 'unanimous')]
    """
    if method not in METHODS:
        raise LabelError(f"unknown aggregation method '{method}'", hint=f"use one of {', '.join(METHODS)}")
    codes = encode(frame, item=item, annotator=annotator, label=label, labels=labels, items=items)
    if method == "majority":
        return _majority(codes, (item, annotator, label))
    if method == "dawid-skene":
        return _dawid_skene(codes, (item, annotator, label), smoothing, tol, max_iter)
    if probabilities is None:
        raise LabelError(
            "crowdlab needs a model's probabilities", hint="give probabilities, or use dawid-skene"
        )
    return _crowdlab(codes, (item, annotator, label), _probabilities(probabilities, codes, item))


def majority_vote(counts: FloatArray) -> tuple[IntArray, FloatArray, IntArray]:
    """The majority class of each row of votes (items x classes), its share, and how many tied.

    Ties go to the class with the most votes overall, then to the lowest class index.

    Example:
        >>> winners, shares, tied = majority_vote(np.array([[2.0, 1.0], [1.0, 1.0], [0.0, 3.0]]))
        >>> winners.tolist(), shares.round(2).tolist(), tied.tolist()
        ([0, 1, 1], [0.67, 0.5, 1.0], [1, 2, 1])
    """
    total = counts.sum(axis=0)
    order = np.lexsort((np.arange(total.size), -total))
    priority = np.empty(total.size, dtype=np.int64)
    priority[order] = np.arange(total.size, 0, -1)
    top = counts.max(axis=1, keepdims=True)
    is_top = counts == top
    winners = np.where(is_top, priority, -1).argmax(axis=1).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = top[:, 0] / counts.sum(axis=1)
    return winners, shares, is_top.sum(axis=1).astype(np.int64)


def _majority(codes: Annotations, columns: tuple[str, str, str]) -> Aggregation:
    counts = codes.counts()
    winners, shares, tied = majority_vote(counts)
    votes = counts.sum(axis=1)
    decided = np.where(shares == 1.0, "unanimous", np.where(tied > 1, "tie-break", "majority"))
    table = _labels_table(codes, columns, winners, shares, votes, decided)
    agrees = (codes.label == winners[codes.item]).astype(np.float64)
    accuracy = _per_annotator_mean(codes, agrees)
    return Aggregation("majority", table, _annotators_table(codes, columns[1], accuracy), _classes(codes))


def _dawid_skene(
    codes: Annotations, columns: tuple[str, str, str], smoothing: float, tol: float, max_iter: int
) -> Aggregation:
    counts = codes.counts()
    votes = Votes(
        codes.item,
        codes.annotator,
        codes.label,
        codes.n_items,
        codes.annotators.len(),
        codes.n_classes,
        codes.n_classes,
    )
    fit = dawid_skene_em(
        votes, counts / counts.sum(axis=1, keepdims=True), smoothing=smoothing, tol=tol, max_iter=max_iter
    )
    if not fit.converged:
        warnings.warn(
            f"Dawid-Skene did not converge in {max_iter} rounds (tolerance {tol})", LabelWarning, stacklevel=3
        )
    winners = fit.posteriors.argmax(axis=1).astype(np.int64)
    confidence = fit.posteriors.max(axis=1)
    table = _labels_table(
        codes, columns, winners, confidence, counts.sum(axis=1), np.full(winners.size, "dawid-skene")
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.trace(fit.soft, axis1=1, axis2=2) / fit.soft.sum(axis=(1, 2))
    return Aggregation(
        "dawid-skene",
        table,
        _annotators_table(codes, columns[1], accuracy),
        _classes(codes),
        posteriors=fit.posteriors,
        confusion=fit.confusion,
        priors=fit.priors,
        iterations=fit.iterations,
    )


def _crowdlab(codes: Annotations, columns: tuple[str, str, str], probabilities: FloatArray) -> Aggregation:
    from cleanlab.multiannotator import get_label_quality_multiannotator

    matrix = np.full((codes.n_items, codes.annotators.len()), np.nan)
    matrix[codes.item, codes.annotator] = codes.label
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*annotators.*", category=UserWarning)
        result = get_label_quality_multiannotator(matrix, probabilities, verbose=False)
    quality = result["label_quality"]
    winners = quality["consensus_label"].to_numpy().astype(np.int64)
    confidence = quality["consensus_quality_score"].to_numpy().astype(np.float64)
    votes = codes.counts().sum(axis=1)
    table = _labels_table(codes, columns, winners, confidence, votes, np.full(winners.size, "crowdlab"))
    stats = result["annotator_stats"].reindex(range(codes.annotators.len()))
    accuracy = stats["annotator_quality"].to_numpy().astype(np.float64)
    return Aggregation("crowdlab", table, _annotators_table(codes, columns[1], accuracy), _classes(codes))


def _probabilities(given: FloatArray | pl.DataFrame, codes: Annotations, item: str) -> FloatArray:
    if isinstance(given, pl.DataFrame):
        if item not in given.columns:
            raise LabelError(f"the probabilities have no '{item}' column", hint="add the item column")
        missing = [str(c) for c in codes.classes.to_list() if str(c) not in given.columns]
        if missing:
            raise LabelError(
                f"the probabilities have no column for classes {missing}",
                hint="name a column after each class",
            )
        lookup = pl.DataFrame({item: codes.items}).join(given, on=item, how="left", maintain_order="left")
        given = lookup.select([str(c) for c in codes.classes.to_list()]).to_numpy()
    probs = np.asarray(given, dtype=np.float64)
    if probs.shape != (codes.n_items, codes.n_classes) or np.isnan(probs).any():
        raise LabelError(
            f"the probabilities are {probs.shape}, but the annotations have {codes.n_items} items and "
            f"{codes.n_classes} classes",
            hint="give one row per annotated item (sorted) and one column per class (sorted)",
        )
    return probs


def _labels_table(
    codes: Annotations,
    columns: tuple[str, str, str],
    winners: IntArray,
    confidence: FloatArray,
    votes: FloatArray,
    decided: Any,
) -> pl.DataFrame:
    del columns  # the table's columns are always item, label, …: a stable shape
    return pl.DataFrame(
        {
            "item": codes.items,
            "label": codes.classes.gather(winners),
            "confidence": confidence,
            "decided_by": pl.Series(decided, dtype=pl.String),
            "votes": votes.astype(np.int64),
        }
    )


def _annotators_table(codes: Annotations, column: str, accuracy: FloatArray) -> pl.DataFrame:
    count = np.bincount(codes.annotator, minlength=codes.annotators.len())
    return pl.DataFrame(
        {"annotator": codes.annotators, "count": count.astype(np.int64), "accuracy": accuracy}
    )


def _per_annotator_mean(codes: Annotations, values: FloatArray) -> FloatArray:
    total = np.bincount(codes.annotator, weights=values, minlength=codes.annotators.len())
    count = np.bincount(codes.annotator, minlength=codes.annotators.len())
    return np.asarray(total / np.maximum(count, 1), dtype=np.float64)


def _classes(codes: Annotations) -> tuple[Any, ...]:
    return tuple(codes.classes.to_list())
