import math

import numpy as np
import polars as pl
import pytest
from scipy import stats

from datawheel.errors import ValidationError
from datawheel.validate import compare_profiles, compare_slices, correct, jensen_shannon, profile, psi


def test_random_half_of_adult_does_not_drift(adult: pl.DataFrame) -> None:
    half = adult.sample(fraction=0.5, seed=7)
    report = compare_profiles(profile(adult), profile(half))
    assert report.drifted == []
    assert set(report.columns) == set(adult.columns)


def test_shifted_batch_of_adult_drifts(adult: pl.DataFrame) -> None:
    batch = adult.sample(fraction=0.5, seed=7).with_columns(
        (pl.col("age") + 15).alias("age"),
        pl.when(pl.col("sex") == "Male").then(pl.lit("Female")).otherwise(pl.lit("Male")).alias("sex"),
    )
    report = compare_profiles(profile(adult), profile(batch))
    assert report.drifted == ["age", "sex"]
    age = report.to_dict()["columns"]["age"]
    assert (age["metric"], age["threshold"], age["drifted"]) == ("psi", 0.2, True)
    assert age["value"] > 0.2
    assert "ln(c_i / r_i)" in age["formula"]


def test_psi_recomputes_by_hand_from_the_reported_bins(adult: pl.DataFrame) -> None:
    batch = adult.filter(pl.col("age") > 30)
    column = compare_profiles(profile(adult), profile(batch)).columns["age"]
    # the bins are at the reference's deciles: count shares by hand from the raw data
    edges = [float(b.split(", ")[1].rstrip(")")) for b in column.bins[:-1]]

    def shares(values: np.ndarray) -> list[float]:
        idx = np.searchsorted(edges, values, side="right")
        return [float(np.mean(idx == i)) for i in range(len(edges) + 1)]

    r, c = shares(adult["age"].to_numpy()), shares(batch["age"].to_numpy())
    assert column.reference == pytest.approx(r)
    assert column.current == pytest.approx(c)
    by_hand = sum(
        (ci - ri) * math.log(ci / ri) for ri, ci in zip(np.maximum(r, 1e-4), np.maximum(c, 1e-4), strict=True)
    )
    assert column.value == pytest.approx(by_hand)
    assert psi([0.25, 0.75], [0.5, 0.5]) == pytest.approx(0.25 * math.log(2) + 0.25 * math.log(2 / 3) * -1)


def test_ks_statistic_and_p_value_match_scipy() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(0, 1, 150), rng.normal(0.4, 1, 120)  # small enough for exact sketches
    report = compare_profiles(profile(pl.DataFrame({"x": a})), profile(pl.DataFrame({"x": b})), tests=True)
    column = report.columns["x"]
    expected = stats.ks_2samp(a, b, method="asymp")
    assert column.test == "ks"
    assert column.statistic == pytest.approx(expected.statistic)
    assert column.p_value == pytest.approx(expected.pvalue)


def test_ks_on_large_samples_stays_within_the_sketch_error() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.normal(0, 1, 20_000), rng.normal(0.05, 1, 20_000)
    column = compare_profiles(
        profile(pl.DataFrame({"x": a})), profile(pl.DataFrame({"x": b})), tests=True
    ).columns["x"]
    assert column.statistic == pytest.approx(stats.ks_2samp(a, b).statistic, abs=0.03)


def test_chi2_matches_scipy_and_corrections_match_hand_computation() -> None:
    ref = pl.DataFrame({"c": ["a"] * 60 + ["b"] * 40, "d": ["x"] * 50 + ["y"] * 50})
    cur = pl.DataFrame({"c": ["a"] * 45 + ["b"] * 55, "d": ["x"] * 48 + ["y"] * 52})
    report = compare_profiles(profile(ref), profile(cur), tests=True, correction="holm")
    table = np.array([[60, 40], [45, 55]])
    expected = stats.chi2_contingency(table, correction=False)
    assert report.columns["c"].p_value == pytest.approx(expected.pvalue)
    ps = [report.columns["c"].p_value or 0.0, report.columns["d"].p_value or 0.0]
    low, high = sorted(ps)
    holm = {low: min(1.0, 2 * low), high: min(1.0, max(2 * low, high))}
    assert report.columns["c"].p_adjusted == pytest.approx(holm[ps[0]])
    assert correct([0.01, 0.02, 0.04], "bh") == pytest.approx([0.03, 0.03, 0.04])


def test_jensen_shannon_matches_scipy() -> None:
    from scipy.spatial.distance import jensenshannon

    p, q = [0.2, 0.5, 0.3], [0.1, 0.4, 0.5]
    assert jensen_shannon(p, q) == pytest.approx(jensenshannon(p, q, base=2))


def test_thresholds_come_from_the_contract(adult: pl.DataFrame) -> None:
    half = adult.sample(fraction=0.5, seed=7)
    report = compare_profiles(
        profile(adult), profile(half), thresholds={"age": {"metric": "wasserstein", "threshold": 0.0}}
    )
    assert report.columns["age"].metric == "wasserstein"
    assert report.drifted == ["age"]
    with pytest.raises(ValidationError, match="has no linf distance"):
        compare_profiles(profile(adult), profile(half), thresholds={"age": {"metric": "linf"}})


def test_drift_per_slice(adult: pl.DataFrame) -> None:
    shifted = adult.with_columns(
        pl.when(pl.col("sex") == "Female").then(pl.col("hours-per-week") + 30).otherwise("hours-per-week")
    )
    slices = compare_slices(adult, shifted, by="sex")
    assert slices["Female"].drifted == ["hours-per-week"]
    assert slices["Male"].drifted == []


def test_an_empty_reference_is_a_clear_error() -> None:
    empty = profile(pl.DataFrame({"x": []}, schema={"x": pl.Float64}))
    with pytest.raises(ValidationError, match="reference has no rows"):
        compare_profiles(empty, profile(pl.DataFrame({"x": [1.0]})))
