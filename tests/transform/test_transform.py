"""Chains: fitted in order, applied batch by batch, saved, loaded, replayed in a fresh process."""

import json
import math
import statistics
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from datawheel import __version__
from datawheel.errors import TransformError
from datawheel.transform import (
    FORMAT,
    FORMAT_VERSION,
    Bucketize,
    Clip,
    FillNull,
    FittedTransform,
    MinMax,
    NormalizeText,
    OneHot,
    Standardize,
    Transform,
    Vocabulary,
)


def assert_bit_identical(left: pl.DataFrame, right: pl.DataFrame) -> None:
    """Same columns, types and values; floats compared by their bits, not by ==."""
    assert_frame_equal(left, right, check_exact=True)
    for name, dtype in left.schema.items():
        if dtype.is_float():
            a, b = left[name].to_numpy(), right[name].to_numpy()
            assert a.tobytes() == b.tobytes(), f"column {name} differs in its bits"


# -- fitting a chain --------------------------------------------------------------------------


def test_each_op_is_fitted_on_what_the_ops_before_it_wrote() -> None:
    frame = pl.DataFrame({"x": [1.0, None, 5.0], "t": ["Spam", " spam ", "HAM"]})
    fitted = Transform([FillNull("x"), Standardize("x"), NormalizeText("t"), Vocabulary("t")]).fit(frame)
    fill, scale, _, vocabulary = fitted.ops
    assert fill.fill == 3.0  # type: ignore[attr-defined]
    # std of the filled [1, 3, 5] is sqrt(8/3); of the unfilled [1, 5] it would be 2
    assert scale.std == math.sqrt(8 / 3)  # type: ignore[attr-defined]
    assert vocabulary.values == ("spam", "ham")  # type: ignore[attr-defined]
    assert fitted.apply(frame).rows() == [(-1.224744871391589, 0), (0.0, 0), (1.224744871391589, 1)]


def test_order_matters() -> None:
    frame = pl.DataFrame({"x": [1, 2, 3, 4, 100]})
    clip_first = Transform([Clip("x", 0.0, 0.75), Standardize("x")]).fit(frame)
    scale_first = Transform([Standardize("x"), Clip("x", 0.0, 0.75)]).fit(frame)
    assert clip_first.ops[1].mean == 2.8  # type: ignore[attr-defined]  # mean of 1, 2, 3, 4, 4
    assert scale_first.ops[0].mean == 22.0  # type: ignore[attr-defined]
    assert clip_first.apply(frame)["x"].max() == pytest.approx(1.2 / math.sqrt(1.36))


def test_adult_state_matches_an_independent_computation(adult: pl.DataFrame, adult_chain: Transform) -> None:
    fitted = adult_chain.fit(adult, source={"dataset": "adult@1"})
    by_target = {(type(op).__name__, op.target): op for op in fitted.ops}
    ages = adult["age"].to_list()
    age = by_target[("Standardize", "age_std")]
    assert age.mean == pytest.approx(statistics.fmean(ages), rel=1e-15)  # type: ignore[attr-defined]
    assert age.std == pytest.approx(statistics.pstdev(ages), rel=1e-12)  # type: ignore[attr-defined]
    countries = Counter(c if c is not None else "unknown" for c in adult["native_country"])
    expected = [c for c, _ in sorted(countries.items(), key=lambda kv: (-kv[1], kv[0]))[:10]]
    assert list(by_target[("Vocabulary", "native_country")].values) == expected  # type: ignore[attr-defined]
    workclass = Counter(adult["workclass"].drop_nulls())
    assert by_target[("FillNull", "workclass")].fill == workclass.most_common(1)[0][0]  # type: ignore[attr-defined]
    assert (fitted.rows, fitted.source) == (1000, {"dataset": "adult@1"})
    features = fitted.apply(adult)
    assert features["age_std"].mean() == pytest.approx(0.0, abs=1e-12)
    assert features["age"].value_counts()["count"].to_list() > [150] * 5  # five buckets of about 200
    assert sorted(features["age"].unique()) == [0, 1, 2, 3, 4]
    assert features.columns[-3:] == ["sex_Male", "sex_Female", "age_std"]
    assert "sex" not in features.columns
    assert features["capital_gain"].max() == pytest.approx((15024 - 554.216) / 2316.2218946689886)


def test_required_and_outputs() -> None:
    frame = pl.DataFrame({"a": [1.0, 2.0], "c": ["x", "y"], "label": [0, 1]})
    fitted = Transform(
        [Standardize("a", output="a2"), MinMax("a2"), OneHot("c"), Vocabulary("c_x", output="v")]
    ).fit(frame)
    assert fitted.required == {"a": "Float64", "c": "String"}
    assert fitted.outputs == ("a2", "c_x", "c_y", "v")
    assert fitted.input_schema == {"a": "Float64", "c": "String", "label": "Int64"}


def test_a_transform_needs_ops_and_fitted_ones() -> None:
    with pytest.raises(TransformError, match="at least one op"):
        Transform([])
    with pytest.raises(TransformError, match=r"Standardize\('a'\) is not fitted"):
        FittedTransform((Standardize("a"),), input_schema={"a": "Float64"}, rows=0)
    with pytest.raises(TransformError, match="is not plain JSON"):
        Transform([MinMax("a")]).fit(pl.DataFrame({"a": [1]}), source={"when": object()})


def test_fit_and_apply_lazily(adult: pl.DataFrame, adult_chain: Transform) -> None:
    eager = adult_chain.fit(adult)
    lazy = adult_chain.fit(adult.lazy())
    assert lazy == eager
    out = eager.apply(adult.lazy())
    assert isinstance(out, pl.LazyFrame)
    assert_frame_equal(out.collect(), eager.apply(adult), check_exact=True)


# -- batches ----------------------------------------------------------------------------------

ROWS = st.lists(
    st.fixed_dictionaries(
        {
            "x": st.none() | st.floats(-1e9, 1e9, allow_nan=False),
            "n": st.none() | st.integers(-1000, 1000),
            "t": st.none() | st.sampled_from(["a", "B", " b ", "\uff23", "c  d", "é", "e\u0301"]),
        }
    ),
    max_size=40,
)
SCHEMA = {"x": pl.Float64, "n": pl.Int64, "t": pl.String}
CHAIN = Transform(
    [
        FillNull("n", "median"),
        Bucketize("n", 3),
        Standardize("x", output="z"),
        Clip("x", 0.1, 0.9),
        MinMax("x"),
        NormalizeText("t"),
        FillNull("t", "mode"),
        Vocabulary("t", output="t_index", max_size=3),
        OneHot("t"),
    ]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fit_rows=ROWS, rows=ROWS, cut=st.integers(0, 40))
def test_applying_to_batches_equals_applying_to_the_whole(
    fit_rows: list[dict[str, Any]], rows: list[dict[str, Any]], cut: int
) -> None:
    anchor = {"x": 0.5, "n": 3, "t": "a"}  # every column has a value to learn from
    fitted = CHAIN.fit(pl.DataFrame([anchor, *fit_rows], schema=SCHEMA))
    frame = pl.DataFrame(rows, schema=SCHEMA)
    whole = fitted.apply(frame)
    halves = pl.concat([fitted.apply(frame.head(cut)), fitted.apply(frame.slice(cut))])
    assert_bit_identical(halves, whole)
    assert_bit_identical(fitted.apply(frame.lazy()).collect(), whole)
    assert whole.height == frame.height


# -- saving and loading -----------------------------------------------------------------------


def test_save_writes_one_json_file_with_a_digest(
    tmp_path: Path, adult: pl.DataFrame, adult_chain: Transform
) -> None:
    fitted = adult_chain.fit(adult, source={"dataset": "adult@1"})
    digest = fitted.save(tmp_path / "adult.json")
    data = json.loads((tmp_path / "adult.json").read_text(encoding="utf-8"))
    assert list(data) == [
        "format",
        "format_version",
        "datawheel_version",
        "input_schema",
        "rows",
        "source",
        "ops",
        "digest",
    ]
    assert (data["format"], data["format_version"], data["datawheel_version"]) == (FORMAT, 1, __version__)
    assert data["digest"] == digest == fitted.digest
    assert len(digest) == 64
    assert data["input_schema"]["age"] == "Int64"
    assert data["ops"][0] == {
        "op": "fill_null",
        "column": "workclass",
        "output": None,
        "strategy": "mode",
        "value": None,
        "fill": "Private",
    }
    assert [p.name for p in tmp_path.iterdir()] == ["adult.json"]  # no temporary file left


def test_load_gives_back_the_same_transform_and_bit_identical_features(
    tmp_path: Path, adult: pl.DataFrame, adult_chain: Transform
) -> None:
    fitted = adult_chain.fit(adult)
    fitted.save(tmp_path / "t.json")
    loaded = Transform.load(tmp_path / "t.json")
    assert loaded == fitted
    assert loaded.digest == fitted.digest
    assert_bit_identical(loaded.apply(adult), fitted.apply(adult))
    assert FittedTransform.from_dict(fitted.to_dict()) == fitted


@pytest.mark.parametrize(
    "value", [1 / 3, 0.1 + 0.2, 5e-324, 1.7976931348623157e308, -2.5e-17, 123456789.12345679, 2.0**-1074 * 3]
)
def test_floats_survive_the_file_exactly(tmp_path: Path, value: float) -> None:
    fitted = FittedTransform(
        (Standardize("x", mean=value, std=value * 0.5 or 1.0), Bucketize("x", 2, edges=(value,))),
        input_schema={"x": "Float64"},
        rows=1,
    )
    fitted.save(tmp_path / "f.json")
    loaded = Transform.load(tmp_path / "f.json")
    assert loaded.ops[0].mean.hex() == value.hex()  # type: ignore[attr-defined]
    assert loaded.ops[1].edges[0].hex() == value.hex()  # type: ignore[attr-defined]


def test_digest_is_deterministic_and_follows_the_content(adult: pl.DataFrame, adult_chain: Transform) -> None:
    assert adult_chain.fit(adult).digest == adult_chain.fit(adult).digest
    assert adult_chain.fit(adult.head(500)).digest != adult_chain.fit(adult).digest


def test_a_fresh_process_computes_identical_features(
    tmp_path: Path, adult: pl.DataFrame, adult_chain: Transform
) -> None:
    fitted = adult_chain.fit(adult)
    fitted.save(tmp_path / "adult.json")
    adult.write_parquet(tmp_path / "raw.parquet")
    in_process = fitted.apply(pl.read_parquet(tmp_path / "raw.parquet"))
    script = textwrap.dedent(
        """
        import sys
        import polars as pl
        from datawheel.transform import Transform

        folder = sys.argv[1]
        transform = Transform.load(folder + "/adult.json")
        transform.apply(pl.read_parquet(folder + "/raw.parquet")).write_parquet(folder + "/served.parquet")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    served = pl.read_parquet(tmp_path / "served.parquet")
    assert_bit_identical(served, in_process)
    assert served.schema["age_std"] == pl.Float64
    assert np.isfinite(served["fnlwgt"].to_numpy()).all()


# -- bad files --------------------------------------------------------------------------------


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    frame = pl.DataFrame({"age": [20, 30, 40]})
    Transform([Standardize("age")]).fit(frame).save(tmp_path / "t.json")
    return tmp_path / "t.json"


def test_a_tampered_file_is_refused(saved: Path) -> None:
    saved.write_text(
        saved.read_text(encoding="utf-8").replace('"mean": 30.0', '"mean": 31.0'), encoding="utf-8"
    )
    with pytest.raises(TransformError, match="does not match its digest") as info:
        Transform.load(saved)
    assert "save the transform again" in str(info.value)


def test_an_added_field_is_tampering_too(saved: Path) -> None:
    data = json.loads(saved.read_text(encoding="utf-8"))
    data["note"] = "hello"
    saved.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(TransformError, match="does not match its digest"):
        Transform.load(saved)


def test_a_truncated_file_is_refused(saved: Path) -> None:
    text = saved.read_text(encoding="utf-8")
    saved.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(TransformError, match=r"is not valid JSON.*truncated or damaged"):
        Transform.load(saved)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"format_version": FORMAT_VERSION + 1},
            "format version 2; this datawheel reads version 1; upgrade datawheel",
        ),
        ({"format_version": 0}, "fit and save the transform again"),
        ({"format": "something.else"}, "not a datawheel transform"),
    ],
)
def test_other_formats_are_refused(saved: Path, change: dict[str, Any], message: str) -> None:
    data = {**json.loads(saved.read_text(encoding="utf-8")), **change}
    saved.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(TransformError, match=message):
        Transform.load(saved)


def test_missing_and_non_object_files(tmp_path: Path) -> None:
    with pytest.raises(TransformError, match="no transform file"):
        Transform.load(tmp_path / "nothing.json")
    (tmp_path / "list.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(TransformError, match="is not a datawheel transform"):
        Transform.load(tmp_path / "list.json")


def test_from_dict_refuses_malformed_content() -> None:
    data = Transform([MinMax("a")]).fit(pl.DataFrame({"a": [1]})).to_dict()
    del data["rows"]
    with pytest.raises(TransformError, match="malformed transform"):
        FittedTransform.from_dict(data)


# -- bad input at serving ---------------------------------------------------------------------


@pytest.fixture
def fitted() -> FittedTransform:
    frame = pl.DataFrame({"age": [20, 30, 40], "city": ["Oslo", "Rome", "Oslo"], "label": [1, 0, 1]})
    return Transform([Standardize("age"), Vocabulary("city")]).fit(frame)


def test_a_missing_column_is_named_with_its_type(fitted: FittedTransform) -> None:
    with pytest.raises(TransformError, match=r"lacks column 'city' \(String\), which the transform reads"):
        fitted.apply(pl.DataFrame({"age": [30]}))
    with pytest.raises(TransformError, match=r"lacks columns 'age' \(Int64\), 'city' \(String\)"):
        fitted.apply(pl.DataFrame({"other": [1]}).lazy())


def test_a_wrong_type_is_named_with_the_expected_one(fitted: FittedTransform) -> None:
    with pytest.raises(
        TransformError, match="column 'age' is String, but the transform was fitted on Int64"
    ) as info:
        fitted.apply(pl.DataFrame({"age": ["30"], "city": ["Oslo"]}))
    assert "pl.col('age').cast(pl.Int64)" in str(info.value)
    with pytest.raises(TransformError, match="column 'age' is Int32"):
        fitted.apply(
            pl.DataFrame({"age": [30], "city": ["Oslo"]}, schema={"age": pl.Int32, "city": pl.String})
        )


def test_all_null_columns_are_cast_and_other_columns_pass_through(fitted: FittedTransform) -> None:
    out = fitted.apply(pl.DataFrame({"id": [7], "age": [None], "city": [None]}))
    assert out.rows() == [(7, None, None)]
    assert out.schema == pl.Schema({"id": pl.Int64, "age": pl.Float64, "city": pl.Int64})
