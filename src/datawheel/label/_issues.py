"""Likely mislabelled rows, by confident learning (cleanlab) over out-of-fold probabilities.

The probabilities come from a baseline trained inside datawheel (``datawheel.models``:
TF-IDF + logistic regression for text, gradient boosting for tables), cross-validated so that
each row is predicted by a model that never saw it, or from the user's own probability columns.
cleanlab estimates how many labels are wrong (confident learning) and flags that many rows,
those with the lowest self-confidence (the probability the model gives the row's own label).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl

from datawheel.errors import LabelError
from datawheel.label._annotations import FloatArray, records

FilterBy = Literal[
    "low_self_confidence", "low_normalized_margin", "prune_by_noise_rate", "prune_by_class", "both"
]


@dataclass(frozen=True)
class LabelIssues:
    """The rows whose label is probably wrong, most suspicious first.

    ``issues`` has ``row`` (position in the input), ``given_label``, ``suggested_label`` (the
    model's most probable class), ``score`` (cleanlab's label quality, from 0 to 1: lower is more
    suspicious) and the columns asked to be kept. ``scores`` holds every row's quality score
    (NaN for unlabelled rows).
    """

    issues: pl.DataFrame
    scores: FloatArray
    classes: tuple[Any, ...]
    rows: int
    filter_by: FilterBy
    source: str

    def to_dict(self) -> dict[str, Any]:
        """The stable ``--json`` shape: ``issues``, most suspicious first, and counts."""
        return {
            "rows": self.rows,
            "found": self.issues.height,
            "filter_by": self.filter_by,
            "probabilities": self.source,
            "classes": list(self.classes),
            "issues": records(self.issues),
        }


def label_issues(
    frame: pl.DataFrame,
    *,
    label: str,
    probabilities: FloatArray | Sequence[str] | None = None,
    text: str | None = None,
    features: Sequence[str] | None = None,
    image: str | None = None,
    folds: int = 5,
    seed: int = 0,
    filter_by: FilterBy = "low_self_confidence",
    keep: Sequence[str] = (),
) -> LabelIssues:
    """Find the rows of ``frame`` whose ``label`` is probably wrong, most suspicious first.

    Args:
        frame: The rows; those with no label are skipped.
        label: The label column.
        probabilities: The user's own out-of-fold probabilities: an array (rows x classes, classes
            in sorted order) or the names of columns holding them (one per class, in sorted class
            order). Without them, a baseline is cross-validated on ``text``, ``features`` or ``image``.
        text: A text column for the baseline.
        features: Feature columns for the baseline.
        image: An image column for the baseline.
        folds: Cross-validation folds of the baseline.
        seed: The seed of the folds and the model.
        filter_by: cleanlab's rule (``low_self_confidence`` by default: confident learning counts
            the issues, the lowest self-confidence are flagged).
        keep: Columns of ``frame`` to copy into the issues table (ids, text).

    Returns:
        The issues table and every row's score.

    Example:
        >>> frame = pl.DataFrame({"y": ["a", "a", "b", "b", "a"], "pa": [0.9, 0.8, 0.1, 0.2, 0.05]})
        >>> found = label_issues(frame, label="y", probabilities=np.array([[p, 1 - p] for p in frame["pa"]]))
        >>> found.issues.select("row", "given_label", "suggested_label").rows()
        [(4, 'a', 'b')]
    """
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    if label not in frame.columns:
        raise LabelError(f"no label column '{label}'", hint="name the column that holds the labels")
    positions = np.flatnonzero(frame[label].is_not_null().to_numpy())
    labelled = frame[positions]
    probs, classes, source = _probabilities(
        labelled, label, probabilities, text, features, image, folds, seed
    )
    given = _label_codes(labelled[label], classes)
    quality = np.asarray(get_label_quality_scores(given, probs, method="self_confidence"), dtype=np.float64)
    flagged = find_label_issues(given, probs, filter_by=filter_by)
    chosen = np.flatnonzero(flagged)
    chosen = chosen[np.argsort(quality[chosen], kind="stable")]
    scores = np.full(frame.height, np.nan)
    scores[positions] = quality
    issues = pl.DataFrame(
        {
            "row": positions[chosen].astype(np.int64),
            "given_label": labelled[label].gather(chosen),
            "suggested_label": pl.Series([classes[i] for i in probs[chosen].argmax(axis=1)]),
            "score": quality[chosen],
        }
    )
    extra = [c for c in keep if c not in issues.columns]
    if extra:
        issues = issues.with_columns(labelled.select(extra)[chosen])
    return LabelIssues(issues, scores, classes, frame.height, filter_by, source)


def _probabilities(
    labelled: pl.DataFrame,
    label: str,
    given: FloatArray | Sequence[str] | None,
    text: str | None,
    features: Sequence[str] | None,
    image: str | None,
    folds: int,
    seed: int,
) -> tuple[FloatArray, tuple[Any, ...], str]:
    classes = tuple(labelled[label].unique().sort().to_list())
    if given is None:
        from datawheel.models import out_of_fold_proba

        probs, model_classes = out_of_fold_proba(
            labelled, label=label, text=text, features=features, image=image, folds=folds, seed=seed
        )
        return probs, model_classes, f"baseline, {folds}-fold out-of-fold"
    if isinstance(given, np.ndarray):
        probs, source = np.asarray(given, dtype=np.float64), "given"
    else:
        missing = [c for c in given if c not in labelled.columns]
        if missing:
            raise LabelError(f"no probability columns {missing}", hint="name existing columns, one per class")
        probs, source = labelled.select(given).to_numpy().astype(np.float64), f"columns {', '.join(given)}"
    if probs.ndim != 2 or probs.shape[1] != len(classes) or probs.shape[0] != labelled.height:
        raise LabelError(
            f"the probabilities are {probs.shape}, but there are {labelled.height} labelled rows and "
            f"{len(classes)} classes {list(classes)}",
            hint="give one row per labelled row and one column per class, in sorted class order",
        )
    return probs, classes, source


def _label_codes(values: pl.Series, classes: tuple[Any, ...]) -> np.ndarray[Any, np.dtype[np.int64]]:
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted({str(v) for v in values.unique().to_list() if v not in index})
    if unknown:
        raise LabelError(
            f"labels {unknown} are not among the model's classes {list(classes)}",
            hint="each label needs a probability column",
        )
    codes = values.replace_strict(index, return_dtype=pl.Int64)
    return codes.to_numpy().astype(np.int64)
