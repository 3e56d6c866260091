"""The power-law fit recovers a known exponent; the learning curve gives advice that names classes."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from datawheel.errors import EvaluationError
from datawheel.evaluate import fit_power_law, learning_curve, stratified_share


@pytest.mark.parametrize(("a", "b", "c"), [(3.0, 0.35, 0.04), (1.5, 0.6, 0.1), (0.8, 0.25, 0.0)])
def test_fit_recovers_the_exponent_of_a_noisy_power_law_within_10_percent(
    a: float, b: float, c: float
) -> None:
    rng = np.random.default_rng(0)
    sizes = np.repeat(np.geomspace(200, 50_000, 8), 3)  # 8 sizes, 3 seeds each
    errors = (a * sizes**-b + c) * (1 + rng.normal(0, 0.02, sizes.size))
    law = fit_power_law(sizes, errors)
    assert abs(law.b - b) / b < 0.10
    assert law.b_err < 0.1
    low, high = law.interval(500_000)
    assert low <= law.error(500_000) <= high


def test_fit_needs_three_sizes() -> None:
    with pytest.raises(EvaluationError, match="three training sizes"):
        fit_power_law([10, 10, 20], [0.3, 0.31, 0.2])


def _texts(n: int, seed: int = 0) -> pl.DataFrame:
    """Three classes; 'rare' is rare and its words overlap the others', so it gains most from data."""
    rng = np.random.default_rng(seed)
    vocab = {
        "spam": ["win", "cash", "prize", "claim", "free", "offer"],
        "ham": ["see", "you", "soon", "dinner", "home", "call"],
        "rare": ["cash", "home", "urgent", "bank", "call", "offer"],
    }
    labels = rng.choice(["spam", "ham", "rare"], n, p=[0.45, 0.45, 0.1])
    noise = [f"w{i}" for i in range(300)]
    texts = [" ".join([*rng.choice(vocab[y], 2), *rng.choice(noise, 4)]) for y in labels]
    split = np.where(np.arange(n) < int(n * 0.75), "train", "dev")
    return pl.DataFrame({"text": texts, "label": labels, "split": split})


@pytest.mark.slow
def test_learning_curve_projects_and_recommends() -> None:
    frame = _texts(1600)
    curve = learning_curve(
        frame,
        label="label",
        text="text",
        fractions=(0.1, 0.2, 0.4, 0.7, 1.0),
        seeds=(0, 1),
        label_issues={"ham": 3, "rare": 12},
    )
    assert len(curve.points) == 10
    assert curve.train_rows == 1200
    assert curve.dev_rows == 400
    sizes = sorted({p.rows for p in curve.points})
    assert sizes[0] < sizes[-1] == 1200
    assert [p.multiple for p in curve.projections] == [2.0, 5.0, 10.0]
    ten = curve.projections[-1]
    assert ten.rows == 12_000
    assert ten.low <= ten.metric <= ten.high
    assert curve.fit is not None
    assert curve.fit.b > 0
    assert curve.needs_data == "rare"  # the class with the lowest recall
    assert curve.fix_labels_first == "rare"
    assert "fix the labels of class rare first" in curve.recommendation
    assert "10x more data (12,000 rows)" in curve.recommendation
    out = curve.to_dict()
    assert out["classes"]["rare"]["label_issues"] == 12
    assert out["recommendation"] == curve.recommendation


def test_stratified_share_keeps_every_class() -> None:
    frame = pl.DataFrame({"y": ["a"] * 95 + ["b"] * 5, "x": range(100)})
    part = stratified_share(frame, "y", 0.1, seed=1)
    assert part["y"].value_counts().sort("y")["count"].to_list() == [10, 1]
    assert part.equals(stratified_share(frame, "y", 0.1, seed=1))


def test_learning_curve_needs_train_and_dev_rows() -> None:
    frame = _texts(100).with_columns(split=pl.lit("train"))
    with pytest.raises(EvaluationError, match="dev rows"):
        learning_curve(frame, label="label", text="text")
