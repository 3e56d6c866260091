"""Real data for the transform tests: a slice of UCI Adult and the SMS Spam Collection."""

from pathlib import Path

import polars as pl
import pytest

from datawheel.demo import DEMO_DATA
from datawheel.transform import (
    Bucketize,
    Clip,
    FillNull,
    MinMax,
    NormalizeText,
    OneHot,
    Standardize,
    Transform,
    Vocabulary,
)

ADULT = Path(__file__).parents[1] / "data" / "adult" / "adult_head1000.data"
ADULT_COLUMNS = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education_num",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
    "native_country",
    "income",
]


@pytest.fixture(scope="session")
def adult() -> pl.DataFrame:
    """The first 1,000 rows of UCI Adult (CC BY 4.0), with an ``id``; "?" read as null."""
    frame = pl.read_csv(ADULT, has_header=False, new_columns=ADULT_COLUMNS)
    frame = frame.with_columns(pl.col(pl.String).str.strip_chars().replace("?", None))
    numbers = ["fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"]
    return frame.with_columns(pl.col(numbers).cast(pl.Int64)).with_row_index("id")


@pytest.fixture(scope="session")
def sms() -> pl.DataFrame:
    """The SMS Spam Collection (CC BY 4.0, shipped with the demo), with an ``id``."""
    lines = DEMO_DATA.read_text(encoding="utf-8").splitlines()
    rows = [line.split("\t", 1) for line in lines]
    return pl.DataFrame(rows, schema=["label", "text"], orient="row").with_row_index("id")


@pytest.fixture(scope="session")
def adult_chain() -> Transform:
    """A chain over most of Adult's columns, with every kind of op."""
    return Transform(
        [
            FillNull("workclass", "mode"),
            Vocabulary("workclass"),
            NormalizeText("occupation"),
            Vocabulary("occupation", min_count=5),
            OneHot("sex"),
            Clip("capital_gain", 0.0, 0.99),
            Standardize("capital_gain"),
            Standardize("age", output="age_std"),
            Bucketize("age", 5),
            MinMax("hours_per_week"),
            Standardize("fnlwgt"),
            FillNull("native_country", value="unknown"),
            Vocabulary("native_country", max_size=10),
        ]
    )
