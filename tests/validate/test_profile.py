import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datawheel.errors import ValidationError
from datawheel.validate import Profile, load_profile, profile
from datawheel.validate._profile import CATEGORY_LIMIT


def test_adult_profile_has_exact_aggregates(adult: pl.DataFrame) -> None:
    p = profile(adult, label="income")
    age = p.columns["age"]
    assert p.rows == adult.height == 1000
    assert (age.count, age.nulls, age.min, age.max) == (1000, 0, adult["age"].min(), adult["age"].max())
    assert age.mean == pytest.approx(adult["age"].mean())
    assert age.std == pytest.approx(adult["age"].std(ddof=0))
    assert p.columns["workclass"].nulls == adult["workclass"].null_count() > 0
    assert p.columns["workclass"].distinct == adult["workclass"].drop_nulls().n_unique()
    counts = adult["income"].value_counts()
    share = counts.filter(pl.col("income") == ">50K")["count"][0] / 1000
    assert p.class_balance()[">50K"] == pytest.approx(share)
    shape = p.to_dict()
    assert {"count", "nulls", "min", "max", "mean"} <= set(shape["columns"]["age"])
    assert shape["label"]["column"] == "income"


def test_quantiles_and_histogram_are_close_to_exact(adult: pl.DataFrame) -> None:
    column = profile(adult).columns["fnlwgt"]
    sketch = column.values_sketch()
    assert sketch is not None
    exact = float(np.quantile(adult["fnlwgt"].to_numpy(), 0.5))
    assert sketch.get_rank(exact) == pytest.approx(0.5, abs=0.02)
    edges, counts = column.histogram(bins=10)
    assert len(edges) == 11
    assert sum(counts) == pytest.approx(1000)


def test_text_columns_get_lengths_tokens_and_character_classes() -> None:
    frame = pl.DataFrame({"text": ["안녕 hello 12", "world", None]})
    column = profile(frame).columns["text"]
    assert column.text is not None
    stats = column.text.to_dict(column.values)
    assert stats["length"]["min"] == 5
    assert stats["length"]["max"] == 11
    assert stats["tokens_mean"] == 2.0
    chars = stats["char_classes"]
    assert chars["hangul"] == pytest.approx(2 / 16)
    assert chars["latin"] == pytest.approx(10 / 16)
    assert chars["digit"] == pytest.approx(2 / 16)
    assert chars["whitespace"] == pytest.approx(2 / 16)


def test_image_tables_report_their_sizes() -> None:
    frame = pl.DataFrame({"blob": ["a", "b"], "width": [8, 16], "height": [8, 32], "size": [100, 300]})
    shape = profile(frame).to_dict()
    assert shape["images"]["width"]["max"] == 16
    assert shape["images"]["height"]["mean"] == 20
    assert "audio" not in shape


def test_audio_tables_report_their_lengths() -> None:
    """A folder of recordings: an ``audio`` block, and no ``images`` one for its null sizes."""
    frame = pl.DataFrame(
        {
            "path": ["a.wav", "b.flac", "c.wav"],
            "width": [None, None, None],
            "height": [None, None, None],
            "duration": [1.5, 3.0, 0.5],
            "sample_rate": [16_000, 44_100, 16_000],
            "channels": [1, 2, 1],
            "size": [48_044, 900, 16_044],
        },
        schema_overrides={"width": pl.Int64, "height": pl.Int64},
    )
    shape = profile(frame).to_dict()
    assert "images" not in shape
    assert set(shape["audio"]) == {"duration", "sample_rate", "channels", "size"}
    assert shape["audio"]["duration"]["max"] == 3.0
    assert shape["audio"]["sample_rate"]["min"] == 16_000
    assert shape["audio"]["channels"]["mean"] == pytest.approx(4 / 3)


def test_high_cardinality_columns_use_sketches() -> None:
    n = 20_000
    frame = pl.DataFrame({"id": np.arange(n), "word": [f"w{i % 3000}" for i in range(n)]})
    frame = frame.with_columns(
        pl.when(pl.col("id") % 4 == 0).then(pl.lit("hot")).otherwise("word").alias("word")
    )
    p = profile(frame, batch_rows=5000)
    assert p.batches == 4
    assert p.columns["id"].categories is None
    assert p.columns["id"].distinct == pytest.approx(n, rel=0.05)
    assert p.columns["word"].top(1) == [("hot", 5000)]


def test_save_and_load_round_trip(tmp_path: Path, adult: pl.DataFrame) -> None:
    p = profile(adult, label="income")
    loaded = load_profile(p.save(tmp_path / "p.json"))
    assert loaded == p
    assert loaded.to_dict() == p.to_dict()


def test_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="no batches"):
        profile([])
    with pytest.raises(ValidationError, match="no label column 'y'"):
        profile(pl.DataFrame({"x": [1]}), label="y")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(ValidationError, match="not a datawheel profile"):
        load_profile(tmp_path / "x.json")


values = st.one_of(st.none(), st.integers(-50, 50).map(float))
words = st.one_of(st.none(), st.sampled_from(["a", "b", "가", "long text here"]))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(values, words), min_size=1, max_size=60),
    st.lists(st.tuples(values, words), min_size=1, max_size=60),
)
def test_profile_of_union_equals_merge_of_profiles(
    a: list[tuple[float | None, str | None]], b: list[tuple[float | None, str | None]]
) -> None:
    schema = {"x": pl.Float64, "w": pl.String}
    fa, fb = pl.DataFrame(a, schema=schema, orient="row"), pl.DataFrame(b, schema=schema, orient="row")
    merged, whole = profile(fa).merge(profile(fb)), profile(pl.concat([fa, fb]))
    _assert_same(merged, whole)


def test_merge_past_the_category_limit_switches_to_sketches() -> None:
    n = CATEGORY_LIMIT
    fa = pl.DataFrame({"x": np.arange(n, dtype=float)})
    fb = pl.DataFrame({"x": np.arange(n, 2 * n, dtype=float)})
    merged, whole = profile(fa).merge(profile(fb)), profile(pl.concat([fa, fb]))
    assert merged.columns["x"].categories is None
    _assert_same(merged, whole)


def _assert_same(merged: Profile, whole: Profile) -> None:
    assert merged.rows == whole.rows
    for name, w in whole.columns.items():
        m = merged.columns[name]
        assert (m.count, m.nulls, m.min, m.max, m.categories) == (
            w.count,
            w.nulls,
            w.min,
            w.max,
            w.categories,
        )
        for x, y in ((m.mean, w.mean), (m.std, w.std)):
            assert (x is None and y is None) or math.isclose(x or 0, y or 0, rel_tol=1e-9, abs_tol=1e-9)
        assert abs(m.distinct - w.distinct) <= max(2, 0.03 * w.distinct)
        ms, ws = m.values_sketch(), w.values_sketch()
        if ws is not None and not ws.is_empty():
            assert ms is not None
            for q in (0.1, 0.5, 0.9):
                x = ms.get_quantile(q)  # ranks around x bracket q, within the sketch's error
                assert ws.get_rank(x, True) >= q - 0.05
                assert ws.get_rank(x, False) <= q + 0.05
