import numpy as np
import polars as pl
import pytest

from datawheel.errors import LabelError
from datawheel.label import next_batch, select_batch, suggest, uncertainty

PROBS = np.array([[0.9, 0.1, 0.0], [0.4, 0.4, 0.2], [0.5, 0.3, 0.2], [1 / 3, 1 / 3, 1 / 3]])


def test_uncertainty_measures() -> None:
    assert uncertainty(PROBS, strategy="least-confidence").round(3).tolist() == [0.1, 0.6, 0.5, 0.667]
    assert uncertainty(PROBS, strategy="margin").round(3).tolist() == [0.2, 1.0, 0.8, 1.0]
    entropy = uncertainty(PROBS, strategy="entropy")
    assert entropy[3] == pytest.approx(1.0)
    assert entropy.argsort().tolist() == [0, 2, 1, 3]


def test_select_batch_orders_by_uncertainty() -> None:
    assert select_batch(PROBS, size=2, strategy="least-confidence").tolist() == [3, 1]
    with pytest.raises(LabelError, match="below 1"):
        select_batch(PROBS, size=0)


def test_a_diverse_batch_spreads_over_clusters() -> None:
    rng = np.random.default_rng(0)
    # two tight groups: A (5 rows) is the most uncertain; the 10 candidates hold 5 of A and 5 of B
    embedding = np.vstack([rng.normal(0, 0.01, (5, 2)), rng.normal(5, 0.01, (20, 2))])
    confidence = np.concatenate([np.linspace(0.5, 0.55, 5), np.linspace(0.6, 0.9, 20)])
    probs = np.column_stack([confidence, 1 - confidence])
    plain = select_batch(probs, size=2, strategy="entropy")
    diverse = select_batch(probs, size=2, strategy="diverse", embedding=embedding, seed=0)
    assert plain.tolist() == [0, 1]
    assert diverse.tolist() == [0, 5]


def partly_labelled(sms: pl.DataFrame) -> pl.DataFrame:
    part = sms.head(1200)
    return part.with_columns(pl.when(pl.col("id") % 4 == 0).then(None).otherwise(pl.col("label")).alias("y"))


def test_suggestions_for_unlabelled_sms_rows_are_mostly_right(sms: pl.DataFrame) -> None:
    frame = partly_labelled(sms)
    made = suggest(frame, label="y", text="text", keep=["id"])
    assert made.table.height == frame["y"].null_count() == 300
    truth = frame["label"].gather(made.table["row"])
    assert (made.table["suggested_label"] == truth).mean() > 0.93  # type: ignore[operator]
    assert made.table["score"].min() >= 0.5  # type: ignore[operator]
    assert made.model.classes == ("ham", "spam")


@pytest.mark.parametrize("strategy", ["least-confidence", "margin", "entropy", "diverse"])
def test_next_batch_picks_unlabelled_rows(sms: pl.DataFrame, strategy: str) -> None:
    frame = partly_labelled(sms)
    batch = next_batch(frame, label="y", text="text", size=10, strategy=strategy)  # type: ignore[arg-type]
    rows = batch.table["row"].to_list()
    assert len(set(rows)) == 10
    assert frame["y"].gather(rows).null_count() == 10
    assert batch.table["rank"].to_list() == list(range(1, 11))
    assert batch.pool == 300
    if strategy != "diverse":
        assert batch.table["uncertainty"].is_sorted(descending=True)


def test_next_batch_with_nothing_to_label_is_an_error() -> None:
    frame = pl.DataFrame({"text": ["win cash", "see you"] * 5, "y": ["spam", "ham"] * 5})
    with pytest.raises(LabelError, match="nothing left"):
        next_batch(frame, label="y", text="text")
