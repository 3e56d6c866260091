r"""A rule baseline: keywords, regular expressions and thresholds the user writes in a TOML file.

The first rule that matches a row gives its label; a row no rule matches gets ``default``::

    default = "ham"          # the label when no rule matches
    column = "text"          # the column rules read unless they name their own

    [[rule]]
    label = "spam"
    keywords = ["free", "winner", "claim"]   # any of these words (whole words, any case)

    [[rule]]
    label = "spam"
    regex = "\\b\\d{5,}\\b"       # a Rust-syntax regular expression

    [[rule]]
    label = "spam"
    column = "length"
    above = 150              # a number above (or ``below``) a threshold

A rule baseline is the bar a trained model must beat; it also needs no labelled data at all.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from datawheel.errors import EvaluationError


@dataclass(frozen=True)
class Rule:
    """One rule: a condition on a column, and the label it gives."""

    label: Any
    column: str | None = None
    keywords: tuple[str, ...] = ()
    regex: str | None = None
    above: float | None = None
    below: float | None = None

    def condition(self, default_column: str | None) -> pl.Expr:
        """The rule's condition as a Polars expression (null counts as no match)."""
        column = self.column or default_column
        if column is None:
            raise EvaluationError(
                f"rule for {self.label!r} names no column", hint="set `column` in the rule or at the top"
            )
        parts: list[pl.Expr] = []
        if self.keywords:
            words = "|".join(re.escape(k) for k in self.keywords)
            parts.append(pl.col(column).cast(pl.String).str.contains(rf"(?i)\b(?:{words})\b"))
        if self.regex:
            parts.append(pl.col(column).cast(pl.String).str.contains(self.regex))
        if self.above is not None:
            parts.append(pl.col(column).cast(pl.Float64) > self.above)
        if self.below is not None:
            parts.append(pl.col(column).cast(pl.Float64) < self.below)
        if not parts:
            raise EvaluationError(
                f"rule for {self.label!r} has no condition", hint="give keywords, regex, above or below"
            )
        return pl.all_horizontal(parts).fill_null(False)

    def to_dict(self) -> dict[str, Any]:
        """The rule as written in the file (only the fields set)."""
        return {
            k: (list(v) if isinstance(v, tuple) else v)
            for k, v in self.__dict__.items()
            if v not in (None, ())
        }


@dataclass(frozen=True)
class RuleBaseline:
    """Rules in order, the default label, and the column rules read by default.

    Example:
        >>> spam = {"label": "spam", "keywords": ["free"]}
        >>> rules = parse_rules({"default": "ham", "column": "text", "rule": [spam]})
        >>> rules.predict(pl.DataFrame({"text": ["FREE tickets", "see you", None]})).to_list()
        ['spam', 'ham', 'ham']
    """

    rules: tuple[Rule, ...]
    default: Any
    column: str | None = None
    classes: tuple[Any, ...] = field(default=())

    def predict(self, frame: pl.DataFrame) -> pl.Series:
        """The label of each row: the first rule that matches, else the default."""
        missing = [c for c in {r.column or self.column for r in self.rules} if c and c not in frame.columns]
        if missing:
            raise EvaluationError(
                f"the rules read column '{missing[0]}', which the data lacks "
                f"(columns: {', '.join(frame.columns)})",
                hint="fix `column` in the rules file",
            )
        expr: Any = pl.lit(self.default)
        for rule in reversed(self.rules):
            expr = pl.when(rule.condition(self.column)).then(pl.lit(rule.label)).otherwise(expr)
        return frame.select(expr.alias("prediction"))["prediction"]

    def to_dict(self) -> dict[str, Any]:
        """The rules as the TOML file holds them."""
        return {"default": self.default, "column": self.column, "rule": [r.to_dict() for r in self.rules]}


def parse_rules(data: Mapping[str, Any], *, column: str | None = None) -> RuleBaseline:
    """Rules from a mapping shaped like the TOML file (``default``, ``column``, ``[[rule]]``)."""
    if "default" not in data:
        raise EvaluationError("the rules give no `default` label", hint='add `default = "LABEL"` at the top')
    raw = data.get("rule", [])
    if not isinstance(raw, Sequence) or not raw:
        raise EvaluationError("the rules file has no [[rule]] table", hint="add at least one [[rule]]")
    rules = tuple(_rule(item, i) for i, item in enumerate(raw, start=1))
    classes = tuple(sorted({data["default"], *(r.label for r in rules)}, key=str))
    return RuleBaseline(rules, data["default"], data.get("column", column), classes)


def _rule(item: Any, number: int) -> Rule:
    known = {"label", "column", "keywords", "regex", "above", "below"}
    if not isinstance(item, Mapping) or "label" not in item:
        raise EvaluationError(f"rule {number} has no label", hint="give every [[rule]] a `label`")
    unknown = set(item) - known
    if unknown:
        raise EvaluationError(
            f"rule {number} has unknown key '{sorted(unknown)[0]}'", hint=f"use {sorted(known)}"
        )
    if item.get("regex"):
        try:
            pl.Series([""]).str.contains(item["regex"])
        except pl.exceptions.ComputeError as exc:
            raise EvaluationError(
                f"rule {number}: bad regex {item['regex']!r}", hint="fix the expression"
            ) from exc
    return Rule(
        item["label"],
        item.get("column"),
        tuple(item.get("keywords", ())),
        item.get("regex"),
        item.get("above"),
        item.get("below"),
    )


def load_rules(path: Path, *, column: str | None = None) -> RuleBaseline:
    """Read a rules file (TOML); ``column`` is the default column when the file names none."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise EvaluationError(
            f"cannot read rules file {path}: {exc.strerror}", hint="check the path"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise EvaluationError(f"{path} is not valid TOML: {exc}", hint="fix the rules file") from exc
    return parse_rules(data, column=column)
