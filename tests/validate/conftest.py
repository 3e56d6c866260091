"""Fixtures of the validate tests: the first 1,000 rows of UCI Adult (CC BY 4.0, see tests/data/adult)."""

from pathlib import Path

import polars as pl
import pytest

ADULT = Path(__file__).parent.parent / "data" / "adult" / "adult_head1000.data"
COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
    "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country",
    "income",
]  # fmt: skip


NUMBERS = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]


def read_adult() -> pl.DataFrame:
    """Adult as the UCI description names its columns; "?" is a missing value."""
    frame = pl.read_csv(ADULT, has_header=False, new_columns=COLUMNS, infer_schema=False)
    frame = frame.with_columns(pl.all().str.strip_chars())
    frame = frame.with_columns(pl.when(pl.all() == "?").then(None).otherwise(pl.all()).name.keep())
    return frame.with_columns(pl.col(NUMBERS).cast(pl.Int64))


@pytest.fixture(scope="session")
def adult() -> pl.DataFrame:
    return read_adult()
