import numpy as np
import polars as pl
import pytest

from datawheel.errors import LabelError
from datawheel.label import aggregate, majority_vote

from .conftest import ACCURACIES, simulate_crowd


def test_majority_vote_ties_go_to_the_most_frequent_label_overall() -> None:
    frame = pl.DataFrame(
        {
            "item": [1, 1, 2, 2, 2, 3, 3, 3],
            "annotator": ["x", "y", "x", "y", "z", "x", "y", "z"],
            "label": ["cat", "dog", "dog", "dog", "dog", "cat", "cat", "cat"],
        }
    )
    # cat 4 votes, dog 4 votes overall: equal, so the first in sorted order (cat) wins the tie
    result = aggregate(frame)
    assert result.labels.select("item", "label", "confidence", "decided_by").rows() == [
        (1, "cat", 0.5, "tie-break"),
        (2, "dog", 1.0, "unanimous"),
        (3, "cat", 1.0, "unanimous"),
    ]
    more_dogs = pl.concat([frame, pl.DataFrame({"item": [4], "annotator": ["x"], "label": ["dog"]})])
    assert aggregate(more_dogs).labels["label"][0] == "dog"


def test_majority_vote_of_counts() -> None:
    winners, shares, tied = majority_vote(np.array([[1.0, 2.0, 0.0], [1.0, 0.0, 1.0]]))
    assert winners.tolist() == [1, 0]
    assert shares.tolist() == [2 / 3, 0.5]
    assert tied.tolist() == [1, 2]


def test_dawid_skene_recovers_annotator_accuracies_and_beats_majority_vote() -> None:
    frame, truth = simulate_crowd()
    majority = aggregate(frame, method="majority")
    ds = aggregate(frame, method="dawid-skene")
    estimated = ds.annotators.sort("annotator")["accuracy"].to_numpy()
    assert np.abs(estimated - np.array(ACCURACIES)).max() < 0.04
    ds_accuracy = (ds.labels["label"].to_numpy() == truth).mean()
    mv_accuracy = (majority.labels["label"].to_numpy() == truth).mean()
    assert ds_accuracy > mv_accuracy + 0.01
    assert ds.confusion is not None
    assert ds.posteriors is not None
    assert ds.confusion.shape == (5, 3, 3)
    assert np.allclose(ds.confusion.sum(axis=2), 1.0)
    assert np.allclose(ds.posteriors.sum(axis=1), 1.0)
    assert ds.iterations < 100


def test_dawid_skene_with_missing_votes() -> None:
    frame, truth = simulate_crowd(items=2000, seed=1)
    rng = np.random.default_rng(1)
    sparse = frame.filter(pl.Series(rng.random(frame.height) < 0.6))
    ds = aggregate(sparse, method="dawid-skene")
    majority = aggregate(sparse)
    labelled = ds.labels["item"].to_numpy()
    ds_accuracy = (ds.labels["label"].to_numpy() == truth[labelled]).mean()
    assert ds_accuracy > (majority.labels["label"].to_numpy() == truth[labelled]).mean()
    assert ds_accuracy > 0.8


def test_to_dict_has_the_stable_shape() -> None:
    frame, _ = simulate_crowd(items=50)
    out = aggregate(frame, method="dawid-skene").to_dict()
    assert {"item", "label", "confidence"} <= out["labels"][0].keys()
    assert set(out["confusion"]) == {f"w{j}" for j in range(5)}
    assert out["method"] == "dawid-skene"


def test_crowdlab_uses_model_probabilities() -> None:
    frame, truth = simulate_crowd(items=400, accuracies=(0.7, 0.6, 0.55), seed=2)
    probs = np.full((400, 3), 0.1)
    probs[np.arange(400), truth] = 0.8
    result = aggregate(frame, method="crowdlab", probabilities=probs)
    majority = aggregate(frame)
    assert (result.labels["label"].to_numpy() == truth).mean() > (
        majority.labels["label"].to_numpy() == truth
    ).mean()
    assert result.annotators.height == 3
    by_frame = pl.DataFrame({"item": np.arange(400), "0": probs[:, 0], "1": probs[:, 1], "2": probs[:, 2]})
    again = aggregate(frame, method="crowdlab", probabilities=by_frame)
    assert again.labels["label"].to_list() == result.labels["label"].to_list()


def test_crowdlab_needs_probabilities_of_the_right_shape() -> None:
    frame, _ = simulate_crowd(items=20)
    with pytest.raises(LabelError, match="probabilities"):
        aggregate(frame, method="crowdlab")
    with pytest.raises(LabelError, match="20 items"):
        aggregate(frame, method="crowdlab", probabilities=np.ones((5, 3)) / 3)


def test_unknown_method_and_label_outside_the_set() -> None:
    frame = pl.DataFrame({"item": [1, 1], "annotator": ["x", "y"], "label": ["a", "b"]})
    with pytest.raises(LabelError, match="unknown aggregation method"):
        aggregate(frame, method="vote")  # type: ignore[arg-type]
    with pytest.raises(LabelError, match="outside the label set"):
        aggregate(frame, labels=["a"])
