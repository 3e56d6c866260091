import warnings

import krippendorff
import numpy as np
import polars as pl
import pytest
from sklearn.metrics import cohen_kappa_score

from datawheel.errors import LabelError
from datawheel.label import LabelWarning, agreement, fleiss_kappa

# Fleiss (1971) as worked on Wikipedia: 10 subjects, 14 raters, 5 categories; kappa 0.210
FLEISS_TABLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def reliability_table(seed: int, annotators: int = 4, items: int = 150, missing: float = 0.25) -> np.ndarray:
    """Annotators x items of labels 1..5 (NaN: missing), agreeing more than chance."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(1, 6, items)
    data = rng.integers(1, 6, (annotators, items)).astype(float)
    agree = rng.random((annotators, items)) < 0.6
    data[agree] = np.broadcast_to(truth, data.shape)[agree]
    data[rng.random(data.shape) < missing] = np.nan
    return data


def as_frame(data: np.ndarray) -> pl.DataFrame:
    rows = [
        (i, f"a{j}", int(data[j, i]))
        for j in range(data.shape[0])
        for i in range(data.shape[1])
        if not np.isnan(data[j, i])
    ]
    return pl.DataFrame(rows, schema=["item", "annotator", "label"], orient="row")


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_alpha_equals_the_krippendorff_package(level: str, seed: int) -> None:
    data = reliability_table(seed)
    ours = agreement(as_frame(data), level=level).krippendorff_alpha  # type: ignore[arg-type]
    theirs = krippendorff.alpha(reliability_data=data, level_of_measurement=level)  # type: ignore[arg-type]
    assert ours == pytest.approx(theirs, abs=1e-9)


def test_alpha_on_krippendorffs_own_example() -> None:
    # Krippendorff (2011), "Computing Krippendorff's alpha": 4 coders, 12 units, nominal alpha 0.743
    nan = np.nan
    data = np.array(
        [
            [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
            [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
        ]
    )
    assert agreement(as_frame(data)).krippendorff_alpha == pytest.approx(0.743, abs=5e-4)


def test_cohen_kappa_equals_scikit_learn_for_every_pair() -> None:
    data = reliability_table(3)
    result = agreement(as_frame(data))
    assert result.cohen_kappa.height == 6
    for a, b, kappa in result.cohen_kappa.select("annotator_a", "annotator_b", "kappa").rows():
        x, y = data[int(a[1:])], data[int(b[1:])]
        both = ~np.isnan(x) & ~np.isnan(y)
        assert kappa == pytest.approx(cohen_kappa_score(x[both], y[both]), abs=1e-12)


def test_fleiss_kappa_on_the_worked_example() -> None:
    kappa, observed = fleiss_kappa(np.array(FLEISS_TABLE, dtype=float))
    assert round(kappa, 3) == 0.210
    assert round(observed, 3) == 0.378


def test_fleiss_kappa_through_annotations_equals_the_counts() -> None:
    rows = [
        (i, f"r{r}", c)
        for i, counts in enumerate(FLEISS_TABLE)
        for c, n in enumerate(counts)
        for r in range(sum(counts[:c]), sum(counts[:c]) + n)
    ]
    result = agreement(pl.DataFrame(rows, schema=["item", "annotator", "label"], orient="row"))
    assert result.fleiss_kappa == pytest.approx(0.20993, abs=1e-5)
    assert result.percent_agreement == pytest.approx(0.37802, abs=1e-5)


def test_fleiss_kappa_with_varying_numbers_of_raters() -> None:
    # items: [a, a, a] -> P=1; [a, b] -> P=0; [b, b] -> P=1; [a] alone is left out
    # P = 2/3; shares over the 7 pairable votes: a 4/7, b 3/7; P_e = 25/49
    frame = pl.DataFrame(
        {
            "item": [1, 1, 1, 2, 2, 3, 3, 4],
            "annotator": ["x", "y", "z", "x", "y", "y", "z", "x"],
            "label": ["a", "a", "a", "a", "b", "b", "b", "a"],
        }
    )
    result = agreement(frame)
    expected_p, expected_e = 2 / 3, 25 / 49
    assert result.percent_agreement == pytest.approx(expected_p)
    assert result.fleiss_kappa == pytest.approx((expected_p - expected_e) / (1 - expected_e))
    assert result.items == 3


def test_perfect_agreement_and_the_tables() -> None:
    frame = pl.DataFrame(
        {"item": [1, 1, 2, 2, 3, 3], "annotator": ["x", "y"] * 3, "label": ["a", "a", "b", "b", "a", "a"]}
    )
    result = agreement(frame)
    assert (result.fleiss_kappa, result.krippendorff_alpha, result.percent_agreement) == (1.0, 1.0, 1.0)
    assert result.per_label.rows() == [("a", 4, 4 / 6, 1.0, 1.0), ("b", 2, 2 / 6, 1.0, 1.0)]
    assert result.per_annotator.select("annotator", "count", "agreement").rows() == [
        ("x", 3, 1.0),
        ("y", 3, 1.0),
    ]
    assert result.confusion.select("label_a", "label_b", "count").rows() == [("a", "a", 2), ("b", "b", 1)]
    assert result.to_dict()["fleiss_kappa"] == 1.0


def test_agreement_over_time() -> None:
    frame = pl.DataFrame(
        {
            "item": [1, 1, 2, 2, 3, 3, 4, 4],
            "annotator": ["x", "y"] * 4,
            "label": ["a", "a", "b", "b", "a", "b", "b", "a"],
            "at": pl.Series(["2024-01-01"] * 4 + ["2024-01-02"] * 4).str.to_date(),
        }
    )
    over = agreement(frame, time="at").over_time
    assert over is not None
    assert over["percent_agreement"].to_list() == [1.0, 0.0]


def test_one_annotator_is_an_error() -> None:
    frame = pl.DataFrame({"item": [1, 2], "annotator": ["x", "x"], "label": ["a", "b"]})
    with pytest.raises(LabelError, match="two annotators"):
        agreement(frame)


def test_no_item_labelled_twice_is_an_error() -> None:
    frame = pl.DataFrame({"item": [1, 2], "annotator": ["x", "y"], "label": ["a", "b"]})
    with pytest.raises(LabelError, match="no item"):
        agreement(frame)


def test_a_label_outside_the_label_set_is_an_error() -> None:
    frame = pl.DataFrame({"item": [1, 1], "annotator": ["x", "y"], "label": ["spam", "spma"]})
    with pytest.raises(LabelError, match="spma"):
        agreement(frame, labels=["spam", "ham"])


def test_annotations_of_unknown_items_are_an_error() -> None:
    frame = pl.DataFrame({"item": [1, 1, 9, 9], "annotator": ["x", "y"] * 2, "label": ["a"] * 4})
    with pytest.raises(LabelError, match=r"not among the known items.*9"):
        agreement(frame, items=[1, 2, 3])


def test_missing_column_and_non_numeric_interval_are_errors() -> None:
    frame = pl.DataFrame({"item": [1, 1], "annotator": ["x", "y"], "label": ["a", "b"]})
    with pytest.raises(LabelError, match="no column 'rater'"):
        agreement(frame, annotator="rater")
    with pytest.raises(LabelError, match="numeric"):
        agreement(frame, level="interval")


def test_repeated_votes_warn_and_keep_the_last() -> None:
    frame = pl.DataFrame({"item": [1, 1, 1], "annotator": ["x", "y", "y"], "label": ["a", "b", "a"]})
    with pytest.warns(LabelWarning, match="1 repeated"):
        result = agreement(frame)
    assert result.percent_agreement == 1.0


def test_null_labels_are_missing_votes() -> None:
    frame = pl.DataFrame(
        {"item": [1, 1, 1, 2, 2], "annotator": ["x", "y", "z", "x", "y"], "label": ["a", "a", None, "b", "b"]}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = agreement(frame)
    assert result.annotations == 4
    assert result.annotators == 2
