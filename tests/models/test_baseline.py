from pathlib import Path

import numpy as np
import polars as pl
import pytest

from datawheel.demo import DEMO_DATA
from datawheel.models import Baseline, ModelError, fit_baseline, image_pixels, out_of_fold_proba

DATA = Path(__file__).parents[1] / "data"
ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education_num", "marital_status", "occupation",
    "relationship", "race", "sex", "capital_gain", "capital_loss", "hours_per_week", "native_country",
    "income",
]  # fmt: skip


@pytest.fixture(scope="module")
def sms() -> pl.DataFrame:
    lines = DEMO_DATA.read_text(encoding="utf-8").splitlines()
    pairs = [line.split("\t", 1) for line in lines[:1500]]
    return pl.DataFrame({"label": [p[0] for p in pairs], "text": [p[1] for p in pairs]})


@pytest.fixture(scope="module")
def adult() -> pl.DataFrame:
    return pl.read_csv(
        DATA / "adult" / "adult_head1000.data", has_header=False, new_columns=ADULT_COLUMNS
    ).with_columns(pl.col(pl.String).str.strip_chars())


def test_text_baseline_out_of_fold_is_accurate(sms: pl.DataFrame) -> None:
    probs, classes = out_of_fold_proba(sms, label="label", text="text", folds=5)
    assert classes == ("ham", "spam")
    assert probs.shape == (sms.height, 2)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    predicted = np.array(classes)[probs.argmax(axis=1)]
    assert (predicted == sms["label"].to_numpy()).mean() > 0.95


def test_table_baseline_learns_adult(adult: pl.DataFrame) -> None:
    features = ["age", "workclass", "education_num", "marital_status", "occupation", "sex", "hours_per_week"]
    train, test = adult.head(800), adult.tail(200)
    model = fit_baseline(train, label="income", features=features)
    accuracy = float(np.mean(model.predict(test).to_numpy() == test["income"].to_numpy()))
    majority = float(np.mean(test["income"].to_numpy() == "<=50K"))
    assert accuracy > majority


def test_unseen_category_at_prediction_is_accepted(adult: pl.DataFrame) -> None:
    model = fit_baseline(adult, label="income", features=["age", "workclass"])
    new = pl.DataFrame({"age": [40], "workclass": ["Space-agency"]})
    assert model.predict(new).to_list()[0] in {"<=50K", ">50K"}


def test_image_baseline_on_digit_pngs() -> None:
    paths = sorted((DATA / "digits_png").glob("*/*.png"))
    frame = pl.DataFrame({"image": [str(p) for p in paths], "label": [p.parent.name for p in paths]})
    model = fit_baseline(frame, label="label", image="image")
    assert float(np.mean(model.predict(frame).to_numpy() == frame["label"].to_numpy())) > 0.9
    assert image_pixels([None]).sum() == 0.0


def test_baseline_round_trips_through_bytes(sms: pl.DataFrame) -> None:
    model = fit_baseline(sms, label="label", text="text")
    again = Baseline.from_bytes(model.to_bytes())
    np.testing.assert_array_equal(again.predict_proba(sms.head(20)), model.predict_proba(sms.head(20)))


def test_unlabelled_rows_are_left_out_of_fitting(sms: pl.DataFrame) -> None:
    frame = sms.with_columns(
        pl.when(pl.int_range(pl.len()) % 3 == 0).then(None).otherwise("label").alias("label")
    )
    model = fit_baseline(frame, label="label", text="text")
    assert model.classes == ("ham", "spam")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"label": "label"}, "exactly one kind of input"),
        ({"label": "label", "text": "body"}, "no column 'body'"),
        ({"label": "missing", "text": "text"}, "no label column 'missing'"),
    ],
)
def test_bad_inputs_say_what_is_wrong(sms: pl.DataFrame, kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ModelError, match=message):
        fit_baseline(sms, **kwargs)  # type: ignore[arg-type]


def test_one_class_is_refused(sms: pl.DataFrame) -> None:
    with pytest.raises(ModelError, match="one class only"):
        out_of_fold_proba(sms.filter(pl.col("label") == "ham"), label="label", text="text")
