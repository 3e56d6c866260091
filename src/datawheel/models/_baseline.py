"""Baseline classifiers that set the bar: TF-IDF + logistic regression, gradient boosting, pixels.

A baseline is chosen by what the rows hold: a text column (TF-IDF of words and character
n-grams, then logistic regression), feature columns of a table (histogram gradient boosting,
string columns as categories), or images (grey pixels at 16x16, then logistic regression).
"""

from __future__ import annotations

import io
import pickle
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from datawheel.errors import DatawheelError

ModelKind = Literal["text", "table", "image"]
IMAGE_SIDE = 16


class ModelError(DatawheelError):
    """A baseline cannot be trained or applied: a missing column, one class only, too few rows."""


@dataclass(frozen=True)
class Inputs:
    """Which columns a baseline reads: one text column, feature columns, or an image column."""

    kind: ModelKind
    columns: tuple[str, ...]

    @classmethod
    def choose(
        cls, *, text: str | None = None, features: Sequence[str] | None = None, image: str | None = None
    ) -> Inputs:
        """Exactly one of ``text``, ``features`` or ``image`` names the inputs."""
        given = [(k, v) for k, v in (("text", text), ("table", features), ("image", image)) if v]
        if len(given) != 1:
            raise ModelError(
                "a baseline needs exactly one kind of input",
                hint="pass a text column, feature columns, or an image column",
            )
        kind, value = given[0]
        columns = (value,) if isinstance(value, str) else tuple(value)
        return cls(kind, columns)  # type: ignore[arg-type]

    def check(self, frame: pl.DataFrame) -> None:
        """Fail naming the first column the frame lacks."""
        for column in self.columns:
            if column not in frame.columns:
                raise ModelError(
                    f"no column '{column}' (columns: {', '.join(frame.columns)})",
                    hint="name an existing column",
                )

    def matrix(self, frame: pl.DataFrame) -> Any:
        """The model's input for ``frame``: texts, a feature matrix, or pixel rows."""
        self.check(frame)
        if self.kind == "text":
            return frame[self.columns[0]].cast(pl.String).fill_null("").to_list()
        if self.kind == "image":
            return image_pixels(frame[self.columns[0]].to_list())
        return _table_matrix(frame.select(self.columns))


@dataclass(frozen=True)
class Baseline:
    """A fitted baseline: the model, its inputs, and the classes in the order of its probabilities.

    Example:
        >>> frame = pl.DataFrame({"text": ["win cash now", "see you soon"] * 10, "y": ["spam", "ham"] * 10})
        >>> model = fit_baseline(frame, label="y", text="text")
        >>> model.predict(pl.DataFrame({"text": ["win cash"]})).to_list()
        ['spam']
    """

    model: Any
    inputs: Inputs
    label: str
    classes: tuple[Any, ...]

    def predict_proba(self, frame: pl.DataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Class probabilities, one row per input row, columns in the order of ``classes``."""
        return np.asarray(self.model.predict_proba(self.inputs.matrix(frame)), dtype=np.float64)

    def predict(self, frame: pl.DataFrame) -> pl.Series:
        """The most probable class of each row."""
        best = self.predict_proba(frame).argmax(axis=1)
        return pl.Series("prediction", [self.classes[i] for i in best])

    def to_bytes(self) -> bytes:
        """The fitted baseline as bytes (a pickle: load only what this workspace wrote)."""
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def from_bytes(data: bytes) -> Baseline:
        """Load a baseline written by :meth:`to_bytes`."""
        loaded = pickle.loads(data)  # our own artifact, from the blob store
        if not isinstance(loaded, Baseline):
            raise ModelError("the file is not a datawheel baseline", hint="pass a model artifact")
        return loaded


def make_model(kind: ModelKind, *, seed: int = 0, categorical: Sequence[bool] = ()) -> Any:
    """A new, unfitted scikit-learn estimator for the kind of input."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    if kind == "text":
        words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
        chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, min_df=2)
        return make_pipeline(make_union(words, chars), LogisticRegression(max_iter=2000, C=10.0))
    if kind == "image":
        return LogisticRegression(max_iter=2000, C=1.0)
    mask = list(categorical) if any(categorical) else None
    return HistGradientBoostingClassifier(random_state=seed, categorical_features=mask)


def fit_baseline(
    frame: pl.DataFrame,
    *,
    label: str,
    text: str | None = None,
    features: Sequence[str] | None = None,
    image: str | None = None,
    seed: int = 0,
) -> Baseline:
    """Fit the baseline for the inputs named on the labelled rows of ``frame``.

    Rows whose label is null are left out (they are the pool to predict).
    """
    inputs = Inputs.choose(text=text, features=features, image=image)
    labelled = _labelled(frame, label)
    x = inputs.matrix(labelled)
    y = labelled[label].to_numpy()
    model = make_model(inputs.kind, seed=seed, categorical=_categorical(labelled, inputs))
    model.fit(x, y)
    return Baseline(model, inputs, label, tuple(model.classes_.tolist()))


def out_of_fold_proba(
    frame: pl.DataFrame,
    *,
    label: str,
    text: str | None = None,
    features: Sequence[str] | None = None,
    image: str | None = None,
    folds: int = 5,
    seed: int = 0,
) -> tuple[np.ndarray[Any, np.dtype[np.float64]], tuple[Any, ...]]:
    """Cross-validated probabilities: each row predicted by a model that never saw it.

    Returns the probabilities (rows by classes) and the classes in column order. Every row
    must be labelled. Folds are stratified; a class rarer than ``folds`` lowers the fold count.

    Example:
        >>> frame = pl.DataFrame({"text": ["win cash now", "see you soon"] * 10, "y": ["spam", "ham"] * 10})
        >>> probs, classes = out_of_fold_proba(frame, label="y", text="text", folds=2)
        >>> probs.shape, classes
        ((20, 2), ('ham', 'spam'))
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    inputs = Inputs.choose(text=text, features=features, image=image)
    inputs.check(frame)
    if label not in frame.columns:
        raise ModelError(f"no label column '{label}'", hint="name the column that holds the labels")
    if frame[label].null_count():
        raise ModelError(
            f"{frame[label].null_count()} rows have no '{label}'", hint="drop unlabelled rows first"
        )
    y = frame[label].to_numpy()
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise ModelError(f"'{label}' has one class only", hint="a classifier needs two classes or more")
    k = max(2, min(folds, int(counts.min())))
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    model = make_model(inputs.kind, seed=seed, categorical=_categorical(frame, inputs))
    probs = cross_val_predict(model, inputs.matrix(frame), y, cv=splitter, method="predict_proba")
    return np.asarray(probs, dtype=np.float64), tuple(classes.tolist())


def image_pixels(images: Sequence[bytes | str | Path | None]) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Grey pixels at 16x16 in [0, 1], one row per image (bytes or a file path); a missing image is zeros."""
    from PIL import Image

    rows = np.zeros((len(images), IMAGE_SIDE * IMAGE_SIDE), dtype=np.float64)
    for i, image in enumerate(images):
        if image is None:
            continue
        source = io.BytesIO(image) if isinstance(image, bytes) else Path(image)
        with Image.open(source) as img:
            small = img.convert("L").resize((IMAGE_SIDE, IMAGE_SIDE))
            rows[i] = np.asarray(small, dtype=np.float64).ravel() / 255.0
    return rows


def _labelled(frame: pl.DataFrame, label: str) -> pl.DataFrame:
    if label not in frame.columns:
        raise ModelError(f"no label column '{label}'", hint="name the column that holds the labels")
    labelled = frame.filter(pl.col(label).is_not_null())
    if labelled[label].n_unique() < 2:
        raise ModelError(
            f"'{label}' has fewer than two classes among {labelled.height} labelled rows",
            hint="a classifier needs two classes or more",
        )
    return labelled


def _categorical(frame: pl.DataFrame, inputs: Inputs) -> list[bool]:
    if inputs.kind != "table":
        return []
    return [not frame.schema[c].is_numeric() and frame.schema[c] != pl.Boolean for c in inputs.columns]


def _table_matrix(frame: pl.DataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Numbers as floats; anything else as a stable category code (CRC-32 of the value, mod 250).

    Codes must agree between fit and predict, in any process and library version, so they
    come from the value itself. A null stays missing.
    """
    columns = []
    for name, dtype in frame.schema.items():
        if dtype.is_numeric() or dtype == pl.Boolean:
            columns.append(pl.col(name).cast(pl.Float64))
            continue
        values = frame[name].cast(pl.String).drop_nulls().unique().to_list()
        codes = {v: float(zlib.crc32(v.encode()) % 250) for v in values}
        columns.append(
            pl.col(name).cast(pl.String).replace_strict(codes, default=None, return_dtype=pl.Float64)
        )
    return frame.select(columns).to_numpy().astype(np.float64)
