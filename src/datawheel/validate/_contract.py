"""Data contracts: editable YAML of what a table must look like, drafted from a profile, checked in a pass.

A contract names, per column, a type, how many nulls it may have, a range, the allowed
categories, a regular expression, length bounds, uniqueness and a drift threshold; and for the
table, row-count bounds and freshness. :func:`check_contract` streams over batches once and
returns every broken rule as an :class:`Anomaly` record, not as an exception.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
import yaml

from datawheel.errors import ContractError
from datawheel.validate import _sketch as sk
from datawheel.validate._profile import ColumnProfile, Kind, Profile, _kind

Severity = Literal["error", "warning"]

MAX_CATEGORIES = 50
"""A string column with at most this many distinct values gets an ``allowed`` list."""

EXAMPLES = 5
"""Most offending values an anomaly shows."""


@dataclass(frozen=True)
class Anomaly:
    """One broken rule: which column and check, how bad, what was expected and seen, and examples."""

    column: str
    check: str
    severity: Severity
    expected: Any
    observed: Any
    count: int = 0
    examples: list[Any] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape: ``column``, ``check``, ``severity``, ``expected``, ``observed``, ``examples``."""
        return asdict(self)


@dataclass(frozen=True)
class ColumnRule:
    """What one column must satisfy; ``None`` means "not checked"."""

    type: Kind
    max_null_fraction: float | None = 0.0
    min: float | None = None
    max: float | None = None
    allowed: list[str] | None = None
    regex: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    unique: bool = False
    drift: dict[str, Any] | None = None


@dataclass(frozen=True)
class Contract:
    """A table's contract: column rules, row-count bounds, freshness."""

    columns: dict[str, ColumnRule]
    min_rows: int | None = None
    max_rows: int | None = None
    freshness_column: str | None = None
    max_age_days: float | None = None

    def to_yaml(self) -> str:
        """The contract as YAML (rules left unset are omitted)."""
        table: dict[str, Any] = {"version": 1, "rows": {"min": self.min_rows, "max": self.max_rows}}
        if self.freshness_column:
            table["freshness"] = {"column": self.freshness_column, "max_age_days": self.max_age_days}
        table["columns"] = {
            name: {k: v for k, v in asdict(rule).items() if v is not None and v is not False}
            for name, rule in self.columns.items()
        }
        return yaml.safe_dump(table, sort_keys=False, allow_unicode=True)

    def save(self, path: Path) -> Path:
        """Write :meth:`to_yaml` to ``path``."""
        path.write_text(self.to_yaml(), encoding="utf-8")
        return path

    def thresholds(self) -> dict[str, dict[str, Any]]:
        """Per-column drift settings (``metric``, ``threshold``) the contract sets."""
        return {name: rule.drift for name, rule in self.columns.items() if rule.drift}


@dataclass(frozen=True)
class ValidationResult:
    """The anomalies found; ``ok`` is true when none is an error."""

    rows: int
    anomalies: list[Anomaly]

    @property
    def ok(self) -> bool:
        """No error-level anomaly."""
        return not any(a.severity == "error" for a in self.anomalies)

    @property
    def errors(self) -> int:
        """Error-level anomalies."""
        return sum(a.severity == "error" for a in self.anomalies)

    def to_dict(self) -> dict[str, Any]:
        """The stable ``--json`` shape: ``ok``, ``anomalies`` (``column``, ``check``, ``severity``…)."""
        return {
            "ok": self.ok,
            "rows": self.rows,
            "errors": self.errors,
            "warnings": len(self.anomalies) - self.errors,
            "anomalies": [a.to_dict() for a in self.anomalies],
        }


def infer_contract(profile: Profile, *, max_categories: int = MAX_CATEGORIES) -> Contract:
    """Draft a contract from a profile, to edit: what the data is now, with some room.

    Null fractions may double (plus one point); numeric ranges widen by a tenth of their span
    (not below zero for non-negative data); string columns with at most ``max_categories``
    values get an ``allowed`` list; exactly-counted columns with no repeated value are
    ``unique``; row counts may range from a tenth to ten times the profile's.

    Example:
        >>> from datawheel.validate import profile
        >>> c = infer_contract(profile(pl.DataFrame({"age": [20, 40], "sex": ["F", "M"]})))
        >>> c.columns["age"].min, c.columns["age"].max, c.columns["sex"].allowed
        (18.0, 42.0, ['F', 'M'])
    """
    columns = {name: _rule(column, max_categories) for name, column in profile.columns.items()}
    dated = [c for c in profile.columns.values() if c.kind == "datetime" and c.max is not None]
    freshness, age = None, None
    if dated:
        newest = dated[0]
        freshness = newest.name
        age = math.ceil((datetime.now(UTC).timestamp() - float(newest.max or 0)) / 86400) + 1
    return Contract(columns, max(1, profile.rows // 10), profile.rows * 10, freshness, age)


def _rule(column: ColumnProfile, max_categories: int) -> ColumnRule:
    fraction = column.nulls / column.count if column.count else 0.0
    nulls = 0.0 if not column.nulls else round(min(1.0, 2 * fraction + 0.01), 4)
    unique = bool(column.categories) and all(v == 1 for v in (column.categories or {}).values())
    drift = {"metric": "psi", "threshold": 0.2} if column.kind in ("number", "datetime") else None
    if column.kind == "string":
        allowed = None
        if column.categories is not None and 0 < len(column.categories) <= max_categories:
            allowed = sorted(str(k) for k in column.categories)
            drift = {"metric": "linf", "threshold": 0.1}
        text = column.text
        return ColumnRule(
            "string",
            nulls,
            allowed=allowed,
            min_length=text.length_min if text and allowed is None else None,
            max_length=_widen_length(text.length_max) if text and allowed is None else None,
            unique=unique and allowed is None,
            drift=drift,
        )
    if column.kind == "boolean":
        return ColumnRule("boolean", nulls, drift={"metric": "linf", "threshold": 0.1})
    if column.min is None or column.max is None or column.kind == "other":
        return ColumnRule(column.kind, nulls)
    span = (column.max - column.min) * 0.1
    low = column.min - span if column.min - span >= 0 or column.min < 0 else 0.0
    return ColumnRule(column.kind, nulls, min=low, max=column.max + span, unique=unique, drift=drift)


def _widen_length(n: int) -> int:
    return int(n * 1.5) + 1


def load_contract(path: Path) -> Contract:
    """Read a contract written by :meth:`Contract.save` (or by hand)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ContractError(
            f"cannot read contract {path}: {exc}", hint="check the path and its YAML"
        ) from exc
    return parse_contract(data, where=str(path))


def parse_contract(data: Any, *, where: str = "contract") -> Contract:
    """A contract from its YAML data (a mapping with ``columns``)."""
    if not isinstance(data, dict) or not isinstance(data.get("columns"), dict):
        raise ContractError(
            f"{where} has no 'columns' mapping", hint="write it with `datawheel contract infer REF -o FILE`"
        )
    known = set(ColumnRule.__dataclass_fields__)
    columns = {}
    for name, rule in data["columns"].items():
        if not isinstance(rule, dict) or "type" not in rule:
            raise ContractError(f"{where}: column '{name}' has no 'type'", hint="give type: number|string|…")
        unknown = set(rule) - known
        if unknown:
            raise ContractError(
                f"{where}: column '{name}' has unknown rules {', '.join(sorted(unknown))}",
                hint=f"known rules: {', '.join(sorted(known))}",
            )
        columns[str(name)] = ColumnRule(**rule)
    rows = data.get("rows") or {}
    fresh = data.get("freshness") or {}
    return Contract(columns, rows.get("min"), rows.get("max"), fresh.get("column"), fresh.get("max_age_days"))


def check_contract(data: pl.DataFrame | Iterable[pl.DataFrame], contract: Contract) -> ValidationResult:
    """Check a frame, or a stream of batches in one pass, against ``contract``.

    Example:
        >>> c = parse_contract({"columns": {"age": {"type": "number", "min": 0, "max": 120}}})
        >>> result = check_contract(pl.DataFrame({"age": [30, 150, None]}), c)
        >>> result.ok, [(a.check, a.count, a.examples) for a in result.anomalies]
        (False, [('nulls', 1, []), ('max', 1, [150])])
    """
    batches = [data] if isinstance(data, pl.DataFrame) else data
    checker = _Checker(contract)
    for batch in batches:
        checker.add(batch)
    return checker.result()


@dataclass
class _Tally:
    count: int = 0
    examples: list[Any] = field(default_factory=list)
    observed: Any = None


class _Checker:
    """Counts broken rules batch by batch (one ``select`` per batch), then reports them."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self.rows = 0
        self.batches = 0
        self.schema: dict[str, pl.DataType] = {}
        self.tallies: dict[tuple[str, str], _Tally] = {}
        self.nulls: dict[str, int] = {}
        self.hashes: dict[str, list[np.ndarray]] = {}
        self.newest: float | None = None

    def add(self, frame: pl.DataFrame) -> None:
        self.batches += 1
        present = {c: frame.schema[c] for c in frame.columns if not c.startswith("_")}
        if self.batches == 1:
            self.schema = present
            if self.contract.columns and not set(self.contract.columns) & set(present):
                raise ContractError(
                    f"the contract's columns ({', '.join(list(self.contract.columns)[:8])}) are none of the "
                    f"data's ({', '.join(list(present)[:8])})",
                    hint="this contract was written for another table; infer one for this data",
                )
        self.rows += frame.height
        rules = {
            n: r for n, r in self.contract.columns.items() if n in present and _kind(present[n]) == r.type
        }
        exprs = [e for name, rule in rules.items() for e in _check_exprs(name, rule)]
        if self.contract.freshness_column in present:
            exprs.append(_epoch(self.contract.freshness_column).max().alias("\x00newest"))
        row = frame.select(exprs).row(0, named=True) if exprs and frame.height else {}
        for name, rule in rules.items():
            self.nulls[name] = self.nulls.get(name, 0) + int(row.get(f"{name}\x00nulls") or 0)
            for check in ("min", "max", "allowed", "regex", "min_length", "max_length"):
                bad = int(row.get(f"{name}\x00{check}") or 0)
                if bad:
                    self._tally(name, check, bad, frame, _offending(name, rule, check))
            if rule.unique:
                self.hashes.setdefault(name, []).append(sk.hash_values(frame[name]))
        newest = row.get("\x00newest")
        if newest is not None:
            self.newest = max(self.newest or newest, newest)

    def _tally(self, column: str, check: str, count: int, frame: pl.DataFrame, bad: pl.Expr) -> None:
        tally = self.tallies.setdefault((column, check), _Tally())
        tally.count += count
        if len(tally.examples) < EXAMPLES:
            found = frame.lazy().filter(bad).select(pl.col(column)).unique(maintain_order=True)
            values = found.head(EXAMPLES - len(tally.examples)).collect()[column].to_list()
            tally.examples.extend(v for v in values if v not in tally.examples)

    def result(self) -> ValidationResult:
        anomalies = self._table_anomalies()
        for name, rule in self.contract.columns.items():
            if name not in self.schema:
                anomalies.append(Anomaly(name, "missing", "error", "present", "absent"))
                continue
            kind = _kind(self.schema[name])
            if kind != rule.type:
                anomalies.append(Anomaly(name, "type", "error", rule.type, f"{kind} ({self.schema[name]})"))
                continue
            anomalies += self._column_anomalies(name, rule)
        for name in self.schema:
            if name not in self.contract.columns:
                anomalies.append(Anomaly(name, "unexpected", "warning", "not in the contract", "present"))
        return ValidationResult(self.rows, anomalies)

    def _table_anomalies(self) -> list[Anomaly]:
        c, out = self.contract, []
        if c.min_rows is not None and self.rows < c.min_rows:
            out.append(Anomaly("", "min_rows", "error", c.min_rows, self.rows))
        if c.max_rows is not None and self.rows > c.max_rows:
            out.append(Anomaly("", "max_rows", "error", c.max_rows, self.rows))
        if c.freshness_column and c.max_age_days is not None and self.newest is not None:
            age = (datetime.now(UTC).timestamp() - self.newest) / 86400
            if age > c.max_age_days:
                out.append(
                    Anomaly(
                        c.freshness_column, "freshness", "error", f"<= {c.max_age_days} days", round(age, 2)
                    )
                )
        return out

    def _column_anomalies(self, name: str, rule: ColumnRule) -> list[Anomaly]:
        out = []
        nulls = self.nulls.get(name, 0)
        fraction = nulls / self.rows if self.rows else 0.0
        if rule.max_null_fraction is not None and fraction > rule.max_null_fraction:
            out.append(
                Anomaly(name, "nulls", "error", f"<= {rule.max_null_fraction:.2%}", f"{fraction:.2%}", nulls)
            )
        limits = {
            "min": f">= {rule.min}",
            "max": f"<= {rule.max}",
            "allowed": f"one of {len(rule.allowed or [])} values",
            "regex": f"matches {rule.regex}",
            "min_length": f"length >= {rule.min_length}",
            "max_length": f"length <= {rule.max_length}",
        }
        for check, expected in limits.items():
            tally = self.tallies.get((name, check))
            if tally:
                observed = f"{tally.count} values outside ({tally.count / max(self.rows, 1):.2%})"
                out.append(Anomaly(name, check, "error", expected, observed, tally.count, tally.examples))
        if rule.unique and name in self.hashes:
            hashes = np.concatenate(self.hashes[name])
            repeats = int(hashes.size - np.unique(hashes).size)
            if repeats:
                out.append(
                    Anomaly(name, "unique", "error", "no repeated value", f"{repeats} repeats", repeats)
                )
        return out


def _epoch(name: str) -> pl.Expr:
    return pl.col(name).dt.epoch("ms").cast(pl.Float64) / 1000.0


def _value(name: str, rule: ColumnRule) -> pl.Expr:
    return _epoch(name) if rule.type == "datetime" else pl.col(name).cast(pl.Float64)


def _offending(name: str, rule: ColumnRule, check: str) -> pl.Expr:
    col = pl.col(name)
    if check == "min":
        return _value(name, rule) < rule.min
    if check == "max":
        return _value(name, rule) > rule.max
    if check == "allowed":
        return col.is_not_null() & ~col.cast(pl.String).is_in(
            pl.Series(rule.allowed or [], dtype=pl.String).implode()
        )
    if check == "regex":
        return col.is_not_null() & ~col.cast(pl.String).str.contains(rule.regex or "")
    length = col.cast(pl.String).str.len_chars()
    return length < (rule.min_length or 0) if check == "min_length" else length > (rule.max_length or 0)


def _check_exprs(name: str, rule: ColumnRule) -> Sequence[pl.Expr]:
    out = [pl.col(name).null_count().alias(f"{name}\x00nulls")]
    active = {
        "min": rule.min is not None and rule.type in ("number", "datetime"),
        "max": rule.max is not None and rule.type in ("number", "datetime"),
        "allowed": rule.allowed is not None,
        "regex": rule.regex is not None,
        "min_length": rule.min_length is not None and rule.type == "string",
        "max_length": rule.max_length is not None and rule.type == "string",
    }
    for check, on in active.items():
        if on:
            out.append(_offending(name, rule, check).sum().alias(f"{name}\x00{check}"))
    return out
