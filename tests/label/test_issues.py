import numpy as np
import polars as pl
import pytest

from datawheel.errors import LabelError
from datawheel.label import label_issues


def flip(frame: pl.DataFrame, share: float, seed: int) -> tuple[pl.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    flipped = rng.random(frame.height) < share
    labels = frame["label"].to_numpy().copy()
    labels[flipped] = np.where(labels[flipped] == "spam", "ham", "spam")
    return frame.with_columns(pl.Series("label", labels)), flipped


@pytest.mark.slow
def test_finds_flipped_sms_labels_with_f1_above_085(sms: pl.DataFrame) -> None:
    noisy, flipped = flip(sms, 0.10, seed=0)
    found = label_issues(noisy, label="label", text="text", keep=["id"])
    flagged = np.zeros(noisy.height, dtype=bool)
    flagged[found.issues["row"].to_numpy()] = True
    precision = (flagged & flipped).sum() / flagged.sum()
    recall = (flagged & flipped).sum() / flipped.sum()
    assert 2 * precision * recall / (precision + recall) >= 0.85
    assert found.issues["score"].is_sorted()
    assert found.issues["id"].to_list() == found.issues["row"].to_list()


def test_given_probabilities_as_an_array_or_columns() -> None:
    frame = pl.DataFrame(
        {"y": ["a", "a", "a", "b", "b", "b", "a", None], "p_a": [0.9, 0.8, 0.95, 0.1, 0.2, 0.15, 0.05, 0.5]}
    ).with_columns((1 - pl.col("p_a")).alias("p_b"))
    by_columns = label_issues(frame, label="y", probabilities=["p_a", "p_b"])
    assert by_columns.issues.select("row", "given_label", "suggested_label").rows() == [(6, "a", "b")]
    assert np.isnan(by_columns.scores[7])
    probs = frame.drop_nulls("y").select("p_a", "p_b").to_numpy()
    assert label_issues(frame, label="y", probabilities=probs).issues["row"].to_list() == [6]
    assert by_columns.to_dict()["issues"][0]["score"] == pytest.approx(0.05)


def test_probabilities_of_the_wrong_shape_are_an_error() -> None:
    frame = pl.DataFrame({"y": ["a", "b", "c"], "p": [0.5, 0.5, 0.5]})
    with pytest.raises(LabelError, match="3 classes"):
        label_issues(frame, label="y", probabilities=np.ones((3, 2)) / 2)
    with pytest.raises(LabelError, match="no label column"):
        label_issues(frame, label="z", probabilities=["p"])
