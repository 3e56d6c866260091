"""The slice finder ranks a planted failing slice first, and tiny unlucky slices do not top the list."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy import stats

from datawheel.errors import EvaluationError
from datawheel.evaluate import benjamini_hochberg, find_slices


def _planted(n: int = 6000, seed: int = 0) -> pl.DataFrame:
    """Predictions 90% right, except where the labels of factory B line 3 were corrupted."""
    rng = np.random.default_rng(seed)
    factory = rng.choice(["A", "B", "C"], n)
    line = rng.choice(["1", "2", "3"], n)
    device = rng.choice([f"d{i}" for i in range(40)], n).astype("<U8")  # small slices, no effect
    truth = rng.integers(0, 2, n)
    prediction = np.where(rng.random(n) < 0.9, truth, 1 - truth)
    corrupted = (factory == "B") & (line == "3")
    label = np.where(corrupted & (rng.random(n) < 0.5), 1 - truth, truth)  # half flipped
    label[:2] = 1 - prediction[:2]  # a device with two rows, both wrong
    device[:2] = "tiny"
    source = [{"file": "rows.csv", "line": i + 2} for i in range(n)]
    return pl.DataFrame(
        {"label": label, "prediction": prediction, "factory": factory, "line": line, "device": device}
    ).with_columns(pl.Series("_source", source))


def test_planted_corrupted_slice_ranks_first() -> None:
    report = find_slices(_planted(), label="label", prediction="prediction", by=["factory", "line", "device"])
    first = report.slices[0]
    assert first.name == "factory=B, line=3"
    assert first.significant
    assert first.value < report.overall - 0.2
    # its examples are wrong rows of the slice, with provenance
    assert first.examples
    for row in first.examples:
        assert row["factory"] == "B"
        assert row["line"] == "3"
        assert row["label"] != row["prediction"]
        assert row["_source"]["file"] == "rows.csv"
    # the two-row device where both rows are wrong is not significant and ranks below
    tiny = next(s for s in report.slices if s.values == ("tiny",))
    assert tiny.value == 0.0
    assert not tiny.significant
    assert report.slices.index(tiny) > report.slices.index(first)
    # significant worse slices all come before the rest
    flags = [s.significant and s.gap > 0 for s in report.slices]
    assert flags == sorted(flags, reverse=True)


def test_slice_counts_and_metrics_equal_a_direct_computation() -> None:
    frame = _planted(2000, seed=3)
    report = find_slices(frame, label="label", prediction="prediction", by=["factory"], pairs=False)
    assert {s.name for s in report.slices} == {"factory=A", "factory=B", "factory=C"}
    for s in report.slices:
        rows = frame.filter(pl.col("factory") == s.values[0])
        accuracy = (rows["label"] == rows["prediction"]).mean()
        assert s.count == rows.height
        assert s.value == pytest.approx(accuracy)
        # the p-value: the exact binomial test against the rest's error rate, two-sided by doubling
        rest = frame.filter(pl.col("factory") != s.values[0])
        rest_rate = float((rest["label"] != rest["prediction"]).mean())  # type: ignore[arg-type]
        tests = [
            stats.binomtest(int(s.errors or 0), s.count, rest_rate, alternative=a)
            for a in ("greater", "less")
        ]
        expected = min(1.0, 2 * min(t.pvalue for t in tests))
        assert s.p_value == pytest.approx(expected, rel=1e-9)
    assert report.overall == pytest.approx((frame["label"] == frame["prediction"]).mean())


def test_regression_slices_use_absolute_error() -> None:
    rng = np.random.default_rng(1)
    site = rng.choice(["x", "y", "z"], 3000)
    truth = rng.normal(0, 1, 3000)
    guess = truth + rng.normal(0, 0.1, 3000) + np.where(site == "z", 1.0, 0.0)
    frame = pl.DataFrame({"t": truth, "g": guess, "site": site})
    report = find_slices(frame, label="t", prediction="g", by=["site"])
    assert report.metric == "mae"
    assert report.slices[0].name == "site=z"
    assert report.slices[0].significant
    assert report.slices[0].gap > 0.5


def test_benjamini_hochberg_equals_the_textbook_procedure() -> None:
    p = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216])
    q = benjamini_hochberg(p)
    m = p.size
    expected = [min(1.0, min(p[j] * m / (j + 1) for j in range(i, m))) for i in range(m)]
    assert q.tolist() == pytest.approx(expected)


def test_json_shape_and_errors() -> None:
    out = find_slices(_planted(500), label="label", prediction="prediction", by=["factory"]).to_dict()
    assert out["slices"]
    assert {"slice", "count", "metric", "value"} <= set(out["slices"][0])
    with pytest.raises(EvaluationError, match="no column 'site'"):
        find_slices(_planted(50), label="label", prediction="prediction", by=["site"])
