"""Model-assisted labelling: suggested labels for the unlabelled rows, and the next batch to label.

A baseline (``datawheel.models.fit_baseline``) is fitted on the labelled rows and predicts the
unlabelled ones. ``suggest`` attaches its most probable class and that probability;
``next_batch`` orders the pool by uncertainty, or picks a batch both uncertain and spread out.

Uncertainty (higher is more uncertain, all in [0, 1]):
- ``least-confidence``: ``1 - max_c p_c``
- ``margin``: ``1 - (p_first - p_second)``
- ``entropy``: ``-sum_c p_c log p_c / log K``
- ``diverse``: entropy, but the batch is one item per cluster: the pool's ``pool_factor x size``
  most uncertain rows are clustered (k-means on TF-IDF for text, standardised features for
  tables) into ``size`` clusters, and each cluster gives its most uncertain row.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl

from datawheel.errors import LabelError
from datawheel.label._annotations import FloatArray, IntArray, records

Strategy = Literal["least-confidence", "margin", "entropy", "diverse"]
STRATEGIES: tuple[Strategy, ...] = ("least-confidence", "margin", "entropy", "diverse")
POOL_FACTOR = 5


@dataclass(frozen=True)
class Suggestions:
    """Suggested labels for unlabelled rows: ``row``, ``suggested_label``, ``score``, kept columns.

    ``model`` is the fitted ``datawheel.models.Baseline`` (save it with ``model.to_bytes()``).
    """

    table: pl.DataFrame
    model: Any
    labelled: int
    classes: tuple[Any, ...]

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape: counts, classes and ``suggestions``."""
        return {
            "labelled": self.labelled,
            "suggested": self.table.height,
            "classes": list(self.classes),
            "suggestions": records(self.table),
        }


@dataclass(frozen=True)
class Batch:
    """The next rows to label, most useful first.

    ``table`` has ``rank``, ``row``, ``uncertainty``, ``suggested_label``, ``score`` and kept columns.
    """

    table: pl.DataFrame
    strategy: Strategy
    pool: int
    labelled: int

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape: the strategy, pool size and ``batch``."""
        return {
            "strategy": self.strategy,
            "pool": self.pool,
            "labelled": self.labelled,
            "size": self.table.height,
            "batch": records(self.table),
        }


def uncertainty(probabilities: FloatArray, *, strategy: Strategy = "entropy") -> FloatArray:
    """How uncertain each row's prediction is, from 0 (sure) to 1 (no idea).

    Example:
        >>> probs = np.array([[0.9, 0.1], [0.5, 0.5]])
        >>> uncertainty(probs, strategy="margin").round(2).tolist()
        [0.2, 1.0]
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if strategy == "least-confidence":
        return np.asarray(1.0 - p.max(axis=1), dtype=np.float64)
    if strategy == "margin":
        top2 = -np.sort(-p, axis=1)[:, :2]
        return np.asarray(1.0 - (top2[:, 0] - top2[:, 1]), dtype=np.float64)
    if strategy in ("entropy", "diverse"):
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(p > 0, p * np.log(p), 0.0)
        return np.asarray(-terms.sum(axis=1) / np.log(max(p.shape[1], 2)), dtype=np.float64)
    raise LabelError(f"unknown strategy '{strategy}'", hint=f"use one of {', '.join(STRATEGIES)}")


def select_batch(
    probabilities: FloatArray,
    *,
    size: int,
    strategy: Strategy = "entropy",
    embedding: Any = None,
    seed: int = 0,
) -> IntArray:
    """Positions of the ``size`` rows to label next, most useful first.

    ``diverse`` needs ``embedding`` (a dense or sparse matrix, one row per probability row).

    Example:
        >>> probs = np.array([[0.99, 0.01], [0.6, 0.4], [0.5, 0.5]])
        >>> select_batch(probs, size=2).tolist()
        [2, 1]
    """
    if size < 1:
        raise LabelError(f"batch size {size} is below 1", hint="ask for one row or more")
    scores = uncertainty(probabilities, strategy=strategy)
    order = np.argsort(-scores, kind="stable")
    if strategy != "diverse" or len(order) <= size:
        return np.asarray(order[:size], dtype=np.int64)
    if embedding is None:
        raise LabelError(
            "a diverse batch needs an embedding of the rows", hint="give text or feature columns"
        )
    candidates = order[: size * POOL_FACTOR]
    clusters = _clusters(embedding[candidates], size, seed)
    best: dict[int, int] = {}
    for position, cluster in zip(candidates.tolist(), clusters.tolist(), strict=True):
        best.setdefault(cluster, position)  # candidates are in uncertainty order: the first is the best
    chosen = np.array(sorted(best.values(), key=lambda i: -scores[i]), dtype=np.int64)
    if chosen.size < size:  # fewer distinct clusters than asked: fill with the next most uncertain
        chosen = np.concatenate([chosen, order[~np.isin(order, chosen)][: size - chosen.size]])
    return np.asarray(chosen[:size], dtype=np.int64)


def suggest(
    frame: pl.DataFrame,
    *,
    label: str,
    text: str | None = None,
    features: Sequence[str] | None = None,
    image: str | None = None,
    seed: int = 0,
    keep: Sequence[str] = (),
) -> Suggestions:
    """Fit a baseline on the labelled rows and suggest a label for each unlabelled one.

    Example:
        >>> frame = pl.DataFrame({"text": ["win cash now", "see you soon"] * 10 + ["cash prize"],
        ...                       "y": ["spam", "ham"] * 10 + [None]})
        >>> suggest(frame, label="y", text="text").table.select("row", "suggested_label").rows()
        [(20, 'spam')]
    """
    from datawheel.models import fit_baseline

    model = fit_baseline(frame, label=label, text=text, features=features, image=image, seed=seed)
    pool = np.flatnonzero(frame[label].is_null().to_numpy())
    probs = model.predict_proba(frame[pool]) if pool.size else np.zeros((0, len(model.classes)))
    table = _predictions(frame, pool, probs, model.classes, keep)
    return Suggestions(table, model, frame.height - pool.size, model.classes)


def next_batch(
    frame: pl.DataFrame,
    *,
    label: str,
    size: int = 50,
    strategy: Strategy = "entropy",
    text: str | None = None,
    features: Sequence[str] | None = None,
    seed: int = 0,
    keep: Sequence[str] = (),
) -> Batch:
    """The unlabelled rows of ``frame`` to label next, by the uncertainty of a baseline.

    Example:
        >>> frame = pl.DataFrame({"text": ["win cash now", "see you soon"] * 10 + ["cash soon", "win"],
        ...                       "y": ["spam", "ham"] * 10 + [None, None]})
        >>> next_batch(frame, label="y", text="text", size=1, strategy="margin").table["row"].to_list()
        [20]
    """
    if strategy not in STRATEGIES:
        raise LabelError(f"unknown strategy '{strategy}'", hint=f"use one of {', '.join(STRATEGIES)}")
    from datawheel.models import fit_baseline

    model = fit_baseline(frame, label=label, text=text, features=features, seed=seed)
    pool = np.flatnonzero(frame[label].is_null().to_numpy())
    if pool.size == 0:
        raise LabelError(f"every row has a '{label}'", hint="there is nothing left to label")
    probs = model.predict_proba(frame[pool])
    embedding = _embedding(frame[pool], text, features) if strategy == "diverse" else None
    chosen = select_batch(probs, size=size, strategy=strategy, embedding=embedding, seed=seed)
    table = _predictions(frame, pool[chosen], probs[chosen], model.classes, keep).with_columns(
        pl.Series("uncertainty", uncertainty(probs[chosen], strategy=strategy))
    )
    table = table.with_columns(pl.int_range(1, table.height + 1, dtype=pl.Int64).alias("rank"))
    order = ["rank", "row", "uncertainty", "suggested_label", "score"]
    return Batch(
        table.select(*order, pl.exclude(order)), strategy, int(pool.size), frame.height - int(pool.size)
    )


def _predictions(
    frame: pl.DataFrame, rows: IntArray, probs: FloatArray, classes: tuple[Any, ...], keep: Sequence[str]
) -> pl.DataFrame:
    best = probs.argmax(axis=1) if len(rows) else np.zeros(0, dtype=np.int64)
    table = pl.DataFrame(
        {
            "row": rows.astype(np.int64),
            "suggested_label": pl.Series([classes[i] for i in best]),
            "score": probs.max(axis=1) if len(rows) else np.zeros(0),
        }
    )
    extra = [c for c in keep if c not in table.columns and c in frame.columns]
    return table.with_columns(frame[rows].select(extra)) if extra else table


def _embedding(pool: pl.DataFrame, text: str | None, features: Sequence[str] | None) -> Any:
    if text:
        from sklearn.feature_extraction.text import TfidfVectorizer

        texts = pool[text].cast(pl.String).fill_null("").to_list()
        return TfidfVectorizer(sublinear_tf=True, min_df=1).fit_transform(texts)
    matrix = pool.select(features or []).to_numpy().astype(np.float64)
    matrix = np.nan_to_num(matrix)
    spread = matrix.std(axis=0)
    return (matrix - matrix.mean(axis=0)) / np.where(spread > 0, spread, 1.0)


def _clusters(matrix: Any, k: int, seed: int) -> IntArray:
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        # identical rows make fewer distinct clusters than asked: fine, the batch is then smaller
        warnings.filterwarnings("ignore", message="Number of distinct clusters", category=ConvergenceWarning)
        model = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(matrix)
    return np.asarray(model.labels_, dtype=np.int64)
