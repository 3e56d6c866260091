import polars as pl

from datawheel.validate import compare_profiles, drifted_rows, infer_contract, monitor, profile


def _checks(report_batch: object) -> list[str]:
    return [f.check for f in report_batch.failures]  # type: ignore[attr-defined]


def test_monitor_finds_each_kind_of_data_failure(adult: pl.DataFrame) -> None:
    reference = profile(adult)
    fine = adult.sample(fraction=0.5, seed=1)
    batches = [
        ("fine", fine),
        ("empty", adult.clear()),
        ("missing", fine.drop("race")),
        ("nulls", fine.with_columns(pl.lit(None, pl.Int64).alias("age"))),
        ("dupes", pl.concat([fine.head(100)] * 5)),
        ("small", fine.head(50)),
    ]
    report = monitor(reference, batches)
    found = {b.name: _checks(b) for b in report.batches}
    assert found == {
        "fine": [],
        "empty": ["empty"],
        "missing": ["missing_column"],
        "nulls": ["null_spike"],
        "dupes": ["duplicate_spike"],
        "small": ["volume_drop"],
    }
    assert [b.name for b in report.batches if b.alert] == ["empty", "missing", "nulls", "dupes", "small"]
    assert report.alert
    assert report.to_dict()["batches"][0]["alert"] is False


def test_monitor_checks_the_contract_and_drift(adult: pl.DataFrame) -> None:
    contract = infer_contract(profile(adult))
    shifted = adult.head(500).with_columns((pl.col("age") + 20).alias("age"))
    report = monitor(profile(adult), [("shifted", shifted)], contract=contract)
    [batch] = report.batches
    assert batch.drift is not None
    assert batch.drift.drifted == ["age"]
    assert batch.validation is not None
    assert [(a.column, a.check) for a in batch.validation.anomalies] == [("age", "max")]


def test_drifted_rows_are_the_rows_in_bins_that_grew(adult: pl.DataFrame) -> None:
    batch = pl.concat([adult.head(200)] + [adult.filter(pl.col("age") > 55)] * 3).select("age", "sex")
    drift = compare_profiles(profile(adult.select("age", "sex")), profile(batch))
    assert drift.drifted == ["age"]
    rows = drifted_rows(batch, drift)
    assert 0 < rows.height < batch.height
    youngest = rows["age"].min()
    assert isinstance(youngest, int)
    assert youngest >= 50  # the old ages' bins grew, the young ones' did not
