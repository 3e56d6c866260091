from pathlib import Path

import polars as pl
import pytest

from datawheel.errors import ContractError
from datawheel.validate import check_contract, infer_contract, load_contract, parse_contract, profile


@pytest.fixture(scope="module")
def contract_path(tmp_path_factory: pytest.TempPathFactory, adult: pl.DataFrame) -> Path:
    return infer_contract(profile(adult)).save(tmp_path_factory.mktemp("c") / "adult.yaml")


def test_contract_inferred_on_adult_validates_adult(contract_path: Path, adult: pl.DataFrame) -> None:
    contract = load_contract(contract_path)
    assert contract.columns["workclass"].allowed is not None
    assert "Private" in contract.columns["workclass"].allowed
    assert contract.columns["age"].type == "number"
    result = check_contract(adult, contract)
    assert result.ok, result.anomalies
    assert result.anomalies == []
    assert result.to_dict()["ok"] is True


def test_contract_checks_batches_in_one_pass(contract_path: Path, adult: pl.DataFrame) -> None:
    result = check_contract(adult.iter_slices(300), load_contract(contract_path))
    assert result.ok
    assert result.rows == 1000


def _checks(frame: pl.DataFrame, path: Path) -> dict[tuple[str, str], str]:
    result = check_contract(frame, load_contract(path))
    assert not result.ok
    return {(a.column, a.check): a.severity for a in result.anomalies}


def test_renamed_column_is_flagged(contract_path: Path, adult: pl.DataFrame) -> None:
    found = _checks(adult.rename({"occupation": "job"}), contract_path)
    assert found == {("occupation", "missing"): "error", ("job", "unexpected"): "warning"}


def test_new_category_is_flagged_with_examples(contract_path: Path, adult: pl.DataFrame) -> None:
    batch = adult.with_columns(
        pl.when(pl.int_range(pl.len()) < 7)
        .then(pl.lit("Gig-economy"))
        .otherwise(pl.col("workclass"))
        .alias("workclass")
    )
    result = check_contract(batch, load_contract(contract_path))
    [anomaly] = result.anomalies
    assert (anomaly.column, anomaly.check, anomaly.severity, anomaly.count) == (
        "workclass",
        "allowed",
        "error",
        7,
    )
    assert anomaly.examples == ["Gig-economy"]


def test_null_spike_is_flagged(contract_path: Path, adult: pl.DataFrame) -> None:
    batch = adult.with_columns(
        pl.when(pl.int_range(pl.len()) % 3 == 0)
        .then(None)
        .otherwise(pl.col("hours-per-week"))
        .alias("hours-per-week")
    )
    result = check_contract(batch, load_contract(contract_path))
    [anomaly] = result.anomalies
    assert (anomaly.column, anomaly.check, anomaly.count) == ("hours-per-week", "nulls", 334)


def test_ranges_types_regex_uniqueness_and_rows() -> None:
    contract = parse_contract(
        {
            "rows": {"min": 5},
            "columns": {
                "id": {"type": "number", "unique": True},
                "code": {"type": "string", "regex": "^[A-Z]{2}$", "max_null_fraction": 0.5},
                "score": {"type": "number", "min": 0, "max": 1},
                "when": {"type": "string"},
            },
        }
    )
    frame = pl.DataFrame(
        {"id": [1, 2, 2], "code": ["AB", "abc", None], "score": [0.5, 1.5, -1.0], "when": [1, 2, 3]}
    )
    found = {(a.column, a.check): a for a in check_contract(frame, contract).anomalies}
    assert set(found) == {
        ("", "min_rows"),
        ("id", "unique"),
        ("code", "regex"),
        ("score", "min"),
        ("score", "max"),
        ("when", "type"),
    }
    assert found[("code", "regex")].examples == ["abc"]
    assert found[("score", "max")].examples == [1.5]


def test_yaml_round_trip(contract_path: Path) -> None:
    contract = load_contract(contract_path)
    assert parse_contract(__import__("yaml").safe_load(contract.to_yaml())) == contract


def test_a_contract_for_another_schema_is_a_clear_error(contract_path: Path) -> None:
    with pytest.raises(ContractError, match="none of the data's"):
        check_contract(pl.DataFrame({"sms": ["hi"], "label": ["ham"]}), load_contract(contract_path))


def test_malformed_contracts_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="has no 'columns'"):
        parse_contract({"rows": {}})
    with pytest.raises(ContractError, match="unknown rules colour"):
        parse_contract({"columns": {"x": {"type": "number", "colour": "red"}}})
    (tmp_path / "bad.yaml").write_text("columns: [unclosed", encoding="utf-8")
    with pytest.raises(ContractError, match="cannot read contract"):
        load_contract(tmp_path / "bad.yaml")
