"""Fixtures of the label-quality tests: SMS spam as a frame, and a simulated crowd."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

ACCURACIES = (0.9, 0.8, 0.7, 0.6, 0.55)


def read_sms(path: Path) -> pl.DataFrame:
    """The SMS Spam Collection (label TAB text, no header) with an ``id`` column."""
    frame = pl.read_csv(
        path, separator="\t", has_header=False, new_columns=["label", "text"], quote_char=None
    )
    return frame.with_row_index("id").with_columns(pl.col("id").cast(pl.Int64))


@pytest.fixture
def sms(sms_file: Path) -> pl.DataFrame:
    return read_sms(sms_file)


def simulate_crowd(
    items: int = 3000, classes: int = 3, accuracies: tuple[float, ...] = ACCURACIES, seed: int = 0
) -> tuple[pl.DataFrame, np.ndarray]:
    """Every annotator labels every item: right with its accuracy, else a uniformly wrong class."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, classes, items)
    parts = []
    for j, accuracy in enumerate(accuracies):
        right = rng.random(items) < accuracy
        wrong = (truth + rng.integers(1, classes, items)) % classes
        parts.append(
            pl.DataFrame(
                {"item": np.arange(items), "annotator": f"w{j}", "label": np.where(right, truth, wrong)}
            )
        )
    return pl.concat(parts), truth
