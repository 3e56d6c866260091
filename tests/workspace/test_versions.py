from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from datawheel.errors import RefError, StoreError
from datawheel.store import ROW_HASH, ROW_ID, data_columns
from datawheel.workspace import Workspace

_ROWS = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.text(max_size=12) | st.none(),
            "n": st.integers(-(2**40), 2**40) | st.none(),
            "x": st.floats(allow_nan=False, width=64) | st.none(),
            "ok": st.booleans() | st.none(),
            "day": st.dates(date(1900, 1, 1), date(2200, 1, 1)) | st.none(),
            "at": st.datetimes(datetime(1970, 1, 1), datetime(2100, 1, 1)) | st.none(),
        }
    ),
    max_size=40,
)
_SCHEMA = pl.Schema(
    {
        "name": pl.String(),
        "n": pl.Int64(),
        "x": pl.Float64(),
        "ok": pl.Boolean(),
        "day": pl.Date(),
        "at": pl.Datetime("us"),
    }
)


def _frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=_SCHEMA)


def _data(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(data_columns(frame.columns))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(versions=st.lists(_ROWS, min_size=1, max_size=3))
def test_commit_read_time_travel_round_trip(
    workspace: Workspace, versions: list[list[dict[str, object]]]
) -> None:
    name = f"d{len(workspace.datasets())}"
    committed = [workspace.commit(name, _frame(rows)) for rows in versions]
    assert [v.version for v in committed] == list(range(1, len(versions) + 1))
    for info, rows in zip(committed, versions, strict=True):
        got = workspace.read(f"{name}@{info.version}")
        assert_frame_equal(_data(got), _frame(rows))
        assert got[ROW_ID].n_unique() == len(rows)
    assert workspace.resolve(name).version == len(versions)
    assert [v.rows for v in workspace.versions(name)] == [len(r) for r in versions]


def test_version_facts(workspace: Workspace) -> None:
    info = workspace.commit(
        "people", pl.DataFrame({"id": [1, 2], "who": ["Ann", "Bo"]}), key=["id"], message="first"
    )
    assert (info.ref, info.rows, info.message, info.key) == ("people@1", 2, "first", ("id",))
    assert info.columns == {"id": "Int64", "who": "String", ROW_ID: "String", ROW_HASH: "Int64"}
    assert info.created_at.tzinfo is not None
    assert info.created_at <= datetime.now(UTC)
    listed = workspace.datasets()
    assert [(d.name, d.versions, d.rows, d.key) for d in listed] == [("people", 1, 2, ("id",))]


def test_key_is_remembered_and_diff_sees_changes(workspace: Workspace) -> None:
    workspace.commit("people", pl.DataFrame({"id": [1, 2, 3], "who": ["Ann", "Bo", "Cy"]}), key=["id"])
    workspace.commit("people", pl.DataFrame({"id": [2, 3, 4], "who": ["Bo", "Cyd", "Di"]}))
    diff = workspace.diff("people@1", "people")
    assert (diff.added, diff.removed, diff.changed, diff.unchanged) == (1, 1, 1, 1)
    assert diff.sample_changed[0]["columns"] == {"who": ["Cy", "Cyd"]}


def test_edits_of_a_read_version_keep_row_ids(workspace: Workspace) -> None:
    v1 = workspace.commit("notes", pl.DataFrame({"text": ["a", "b", "c"]}))
    edited = (
        workspace.read(v1)
        .with_columns(
            pl.when(pl.col("text") == "b").then(pl.lit("B")).otherwise(pl.col("text")).alias("text")
        )
        .filter(pl.col("text") != "c")
    )
    workspace.commit("notes", edited)
    diff = workspace.diff("notes@1", "notes@2")
    assert (diff.added, diff.removed, diff.changed, diff.unchanged) == (0, 1, 1, 1)


def test_schema_change_recorded(workspace: Workspace) -> None:
    workspace.commit("d", pl.DataFrame({"a": [1]}))
    workspace.commit("d", pl.DataFrame({"a": ["1"], "b": [True]}))
    first, second = workspace.versions("d")
    assert first.columns["a"] == "Int64"
    assert second.columns["a"] == "String"
    assert "b" in second.columns
    assert workspace.read("d@1")["a"].dtype == pl.Int64


def test_tags(workspace: Workspace) -> None:
    workspace.commit("d", pl.DataFrame({"a": [1]}))
    workspace.commit("d", pl.DataFrame({"a": [2]}))
    workspace.tag("d@1", "v1-release")
    assert workspace.read("d@v1-release")["a"].to_list() == [1]
    assert workspace.versions("d")[0].tags == ("v1-release",)
    with pytest.raises(RefError, match="tag 'v1-release' already names d@1"):
        workspace.tag("d@2", "v1-release")
    workspace.tag("d@2", "v1-release", move=True)
    assert workspace.resolve("d@v1-release").version == 2
    with pytest.raises(RefError, match="cannot be a tag"):
        workspace.tag("d@2", "7")


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("nothing", "no dataset 'nothing'"),
        ("d@9", "dataset 'd' has no version 9 .it has versions 1..1."),
        ("d@nope", "dataset 'd' has no tag 'nope'"),
        ("d@", "is not a ref"),
    ],
)
def test_bad_refs(workspace: Workspace, ref: str, message: str) -> None:
    workspace.commit("d", pl.DataFrame({"a": [1]}))
    with pytest.raises(RefError, match=message) as info:
        workspace.read(ref)
    assert info.value.hint


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".tsv", ".jsonl"])
def test_export_by_suffix(workspace: Workspace, tmp_path: Path, suffix: str) -> None:
    frame = pl.DataFrame({"label": ["ham", "spam"], "text": ["hi, there", "WIN\tnow"]})
    workspace.commit("sms", frame)
    out = tmp_path / f"sms{suffix}"
    _, fmt = workspace.export("sms", out, data_only=True)
    assert fmt == suffix.lstrip(".")
    if suffix == ".parquet":
        back = pl.read_parquet(out)
    elif suffix == ".jsonl":
        back = pl.read_ndjson(out)
    else:
        back = pl.read_csv(out, separator="\t" if suffix == ".tsv" else ",")
    assert_frame_equal(back, frame)


def test_export_keeps_row_ids_unless_data_only(workspace: Workspace, tmp_path: Path) -> None:
    workspace.commit("d", pl.DataFrame({"a": [1, 2]}))
    workspace.export("d", tmp_path / "d.csv")
    assert pl.read_csv(tmp_path / "d.csv").columns == ["a", ROW_ID, ROW_HASH]
    with pytest.raises(StoreError, match="cannot tell the export format"):
        workspace.export("d", tmp_path / "d.xlsx")


def test_table_changed_outside_datawheel(workspace: Workspace) -> None:
    info = workspace.commit("d", pl.DataFrame({"a": [1, 2]}))
    workspace.tables.write("d", pl.DataFrame({"a": [9]}))  # a rogue write, not in the catalog
    assert workspace.read("d")["a"].to_list() == [1, 2]  # the catalog still names the right version
    assert workspace.resolve("d").delta_version == info.delta_version
