"""k-anonymity by full-domain generalisation and suppression, and aggregation of rare rows.

Each quasi-identifier has a ladder of levels, from its raw value (level 0) to ``"*"`` (its top):

- ``{"bucket": w}`` (numbers): buckets of width ``w``, ``2w``, ``4w``… as ``"[lo, hi)"``, until
  one bucket covers the column's range, then ``"*"``;
- ``{"prefix": n}`` (text such as zip codes): the first ``n``, ``n-1``… 1 characters followed by
  ``"*"``, then ``"*"``;
- ``{"hierarchy": {value: parent}}``: the parent, the grandparent… (a value with no parent stays
  itself), then ``"*"``;
- no rule: the raw value, then ``"*"``.

A *node* picks one level per column. Every node is scored by its **information loss**::

    loss = (kept * mean over columns of level / top level + suppressed * 1) / rows

so a suppressed row costs as much as a row with every quasi-identifier generalised to ``"*"``.
The search visits every node when there are at most ``MAX_NODES`` of them, else walks greedily
from the bottom, each step raising the one column that gives the lowest loss, up to the top.
It keeps the node with the lowest loss that respects ``max_suppression``; ties go to fewer
suppressed rows, then to the lexicographically smallest levels. The top node (every column
``"*"``) is always k-anonymous with nothing suppressed, so a node is always found.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from datawheel.errors import CleanError

MAX_NODES = 4096
REASON_COLUMN = "reason"
_GROUP = "__dw_group_size"

Rule = Mapping[str, Any]


@dataclass(frozen=True)
class AnonymityResult:
    """What :func:`k_anonymize` kept (generalised) and suppressed.

    Attributes:
        kept: The rows kept, with their quasi-identifiers generalised (as text).
        removed: The suppressed rows, with their original values and a ``reason``.
        k: The k asked for.
        k_reached: The smallest group of equal quasi-identifiers in ``kept`` (0 if none kept).
        levels: The level chosen per quasi-identifier (0 = raw).
        labels: What each chosen level means (``"raw"``, ``"bucket=20"``, ``"prefix=3"``,
            ``"hierarchy+1"``, ``"*"``).
        information_loss: The loss of the chosen node, between 0 and 1 (see the module).
        nodes_searched: How many nodes of the lattice were scored.
    """

    kept: pl.DataFrame
    removed: pl.DataFrame
    k: int
    k_reached: int
    levels: dict[str, int]
    labels: dict[str, str]
    information_loss: float
    nodes_searched: int

    @property
    def suppressed(self) -> int:
        """Rows suppressed (``removed.height``)."""
        return self.removed.height

    def to_dict(self) -> dict[str, Any]:
        """The outcome as plain data, for ``--json`` and reports."""
        return {
            "rows": self.kept.height + self.removed.height,
            "kept": self.kept.height,
            "removed": self.removed.height,
            "suppressed": self.suppressed,
            "k": self.k,
            "k_reached": self.k_reached,
            "levels": dict(self.levels),
            "generalisation": dict(self.labels),
            "information_loss": round(self.information_loss, 6),
            "nodes_searched": self.nodes_searched,
        }


@dataclass(frozen=True)
class _Ladder:
    """The levels of one column: an expression per level, and a label per level."""

    exprs: list[pl.Expr]
    labels: list[str] = field(default_factory=list)

    @property
    def top(self) -> int:
        return len(self.exprs) - 1


def k_anonymize(
    frame: pl.DataFrame,
    quasi_identifiers: Sequence[str],
    *,
    k: int,
    generalize: Mapping[str, Rule] | None = None,
    max_suppression: int | float | None = None,
) -> AnonymityResult:
    """Generalise and suppress rows so every quasi-identifier combination occurs at least ``k`` times.

    Args:
        frame: The rows.
        quasi_identifiers: The columns that together could identify a person.
        k: The smallest group size wanted.
        generalize: Per column, ``{"bucket": width}``, ``{"prefix": n}`` or
            ``{"hierarchy": {value: parent}}``; a column without a rule is kept or replaced by ``"*"``.
        max_suppression: At most this many rows (an int) or this share of rows (a float below 1)
            may be suppressed; ``None`` lets the loss decide.

    Returns:
        The generalised rows kept, the rows suppressed, and the search's outcome.

    Raises:
        CleanError: ``k`` below 1 or above the row count, an unknown column, an empty frame, or
            a rule that does not fit its column.

    Example:
        >>> frame = pl.DataFrame({"age": [21, 23, 25, 38, 39, 90], "zip": ["13053", "13068", "13053",
        ...     "14850", "14853", "14850"]})
        >>> result = k_anonymize(frame, ["age", "zip"], k=2, generalize={"age": {"bucket": 10},
        ...     "zip": {"prefix": 3}})
        >>> result.kept.sort("age")["age"].to_list()
        ['[20, 30)', '[20, 30)', '[20, 30)', '[30, 40)', '[30, 40)']
        >>> result.kept.sort("age")["zip"].to_list()
        ['130*', '130*', '130*', '148*', '148*']
        >>> result.suppressed, result.k_reached
        (1, 2)
    """
    _check(frame, quasi_identifiers, k)
    rules = dict(generalize or {})
    unknown = sorted(set(rules) - set(quasi_identifiers))
    if unknown:
        raise CleanError(
            f"generalisation rules for columns that are not quasi-identifiers: {unknown}",
            hint="add them to the quasi-identifiers or drop their rules",
        )
    ladders = {column: _ladder(frame, column, rules.get(column)) for column in quasi_identifiers}
    budget = _budget(max_suppression, frame.height)
    levels, searched = _search(frame, ladders, k, budget)
    return _apply(frame, ladders, levels, k, searched)


def _check(frame: pl.DataFrame, quasi_identifiers: Sequence[str], k: int) -> None:
    if not quasi_identifiers:
        raise CleanError("no quasi-identifier columns given", hint="name the columns, e.g. age, zip, sex")
    missing = [column for column in quasi_identifiers if column not in frame.columns]
    if missing:
        raise CleanError(
            f"no column {missing[0]!r} in the dataset", hint=f"choose from: {', '.join(frame.columns)}"
        )
    if len(set(quasi_identifiers)) != len(quasi_identifiers):
        raise CleanError("a quasi-identifier is named twice", hint="name each column once")
    if frame.height == 0:
        raise CleanError("the dataset has no rows to anonymise", hint="check the ref or the input file")
    if k < 1:
        raise CleanError(f"k must be at least 1, not {k}", hint="use k=5 or more for real data")
    if k > frame.height:
        raise CleanError(
            f"k={k} is larger than the dataset's {frame.height} rows, so no group can reach it",
            hint=f"use k of at most {frame.height}",
        )
    if REASON_COLUMN in frame.columns or _GROUP in frame.columns:
        raise CleanError(f"the dataset already has a column '{REASON_COLUMN}'", hint="rename it first")


def _budget(max_suppression: int | float | None, rows: int) -> int:
    if max_suppression is None:
        return rows
    if isinstance(max_suppression, float) and 0 <= max_suppression < 1:
        return math.floor(max_suppression * rows)
    if isinstance(max_suppression, int) and max_suppression >= 0:
        return max_suppression
    raise CleanError(
        f"max_suppression must be a row count or a share below 1, not {max_suppression!r}",
        hint="e.g. 0.05 for 5% of rows, or 10 for ten rows",
    )


def _ladder(frame: pl.DataFrame, column: str, rule: Rule | None) -> _Ladder:
    raw = pl.col(column).cast(pl.String)
    if rule is None:
        ladder = _Ladder([raw], ["raw"])
    elif set(rule) == {"bucket"}:
        ladder = _bucket_ladder(frame, column, rule["bucket"])
    elif set(rule) == {"prefix"}:
        ladder = _prefix_ladder(frame, column, rule["prefix"])
    elif set(rule) == {"hierarchy"}:
        ladder = _hierarchy_ladder(column, rule["hierarchy"])
    else:
        raise CleanError(
            f"unknown generalisation rule {dict(rule)!r} for column '{column}'",
            hint='use {"bucket": width}, {"prefix": n} or {"hierarchy": {value: parent}}',
        )
    star = pl.when(pl.col(column).is_null()).then(pl.lit(None, pl.String)).otherwise(pl.lit("*"))
    return _Ladder([*ladder.exprs, star], [*ladder.labels, "*"])


def _bucket_ladder(frame: pl.DataFrame, column: str, width: Any) -> _Ladder:
    dtype = frame.schema[column]
    if not dtype.is_numeric():
        raise CleanError(
            f"column '{column}' is {dtype}, not numeric; it cannot be bucketed",
            hint='use {"prefix": n} or {"hierarchy": …} for text',
        )
    if isinstance(width, bool) or not isinstance(width, int | float) or not width > 0:
        raise CleanError(
            f"bucket width for '{column}' must be a positive number, not {width!r}", hint="e.g. 5"
        )
    low, high = frame.select(pl.col(column).min().alias("low"), pl.col(column).max().alias("high")).row(0)
    span = float(high - low) if low is not None and high is not None else 0.0
    exprs, labels = [pl.col(column).cast(pl.String)], ["raw"]
    while True:
        exprs.append(_bucket(pl.col(column), width))
        labels.append(f"bucket={width:g}")
        if width > span:
            break
        width *= 2
    return _Ladder(exprs, labels)


def _bucket(x: pl.Expr, width: float) -> pl.Expr:
    low = (x.cast(pl.Float64) / width).floor() * width

    def text(value: pl.Expr) -> pl.Expr:
        whole = value == value.round(0)
        return pl.when(whole).then(value.cast(pl.Int64).cast(pl.String)).otherwise(value.cast(pl.String))

    return pl.concat_str([pl.lit("["), text(low), pl.lit(", "), text(low + width), pl.lit(")")])


def _prefix_ladder(frame: pl.DataFrame, column: str, length: Any) -> _Ladder:
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise CleanError(
            f"prefix length for '{column}' must be a positive whole number, not {length!r}",
            hint="e.g. 3 for zip codes",
        )
    raw = pl.col(column).cast(pl.String)
    exprs, labels = [raw], ["raw"]
    for n in range(length, 0, -1):
        exprs.append(raw.str.slice(0, n) + pl.lit("*"))
        labels.append(f"prefix={n}")
    return _Ladder(exprs, labels)


def _hierarchy_ladder(column: str, parents: Any) -> _Ladder:
    if not isinstance(parents, Mapping) or not parents:
        raise CleanError(
            f"the hierarchy for '{column}' must be a non-empty mapping of value to parent",
            hint='e.g. {"Cuba": "Caribbean", "Caribbean": "Americas"}',
        )
    mapping = {str(child): str(parent) for child, parent in parents.items()}
    depth = _depth(column, mapping)
    raw = pl.col(column).cast(pl.String)
    exprs, labels, current = [raw], ["raw"], raw
    for level in range(1, depth + 1):
        current = current.replace(mapping)
        exprs.append(current)
        labels.append(f"hierarchy+{level}")
    return _Ladder(exprs, labels)


def _depth(column: str, mapping: dict[str, str]) -> int:
    deepest = 0
    for start in mapping:
        seen, value = {start}, start
        while value in mapping:
            value = mapping[value]
            if value in seen:
                raise CleanError(
                    f"the hierarchy for '{column}' has a cycle through {value!r}",
                    hint="every chain of parents must end at a top value",
                )
            seen.add(value)
        deepest = max(deepest, len(seen) - 1)
    return deepest


def _score(
    frame: pl.DataFrame, ladders: Mapping[str, _Ladder], levels: tuple[int, ...], k: int
) -> tuple[float, int]:
    """(information loss, rows suppressed) of one node."""
    exprs = [
        ladder.exprs[level].alias(name) for (name, ladder), level in zip(ladders.items(), levels, strict=True)
    ]
    sizes = frame.lazy().select(exprs).group_by(list(ladders)).len().collect()["len"]
    suppressed = int(sizes.filter(sizes < k).sum())
    height = sum(level / ladder.top for ladder, level in zip(ladders.values(), levels, strict=True)) / len(
        ladders
    )
    kept = frame.height - suppressed
    return (kept * height + suppressed) / frame.height, suppressed


def _search(
    frame: pl.DataFrame, ladders: Mapping[str, _Ladder], k: int, budget: int
) -> tuple[tuple[int, ...], int]:
    tops = [ladder.top for ladder in ladders.values()]
    if math.prod(top + 1 for top in tops) <= MAX_NODES:
        nodes: Sequence[tuple[int, ...]] = list(itertools.product(*(range(top + 1) for top in tops)))
        scored = [(*_score(frame, ladders, node, k), node) for node in nodes]
    else:
        scored = _greedy(frame, ladders, k, tops)
    fits = [(loss, suppressed, node) for loss, suppressed, node in scored if suppressed <= budget]
    return min(fits)[2], len(scored)


def _greedy(
    frame: pl.DataFrame, ladders: Mapping[str, _Ladder], k: int, tops: list[int]
) -> list[tuple[float, int, tuple[int, ...]]]:
    node = tuple(0 for _ in tops)
    scored = [(*_score(frame, ladders, node, k), node)]
    while list(node) != tops:
        steps = [(*node[:i], node[i] + 1, *node[i + 1 :]) for i, top in enumerate(tops) if node[i] < top]
        options = [(*_score(frame, ladders, step, k), step) for step in steps]
        scored.extend(options)
        node = min(options)[2]
    return scored


def _apply(
    frame: pl.DataFrame, ladders: Mapping[str, _Ladder], levels: tuple[int, ...], k: int, searched: int
) -> AnonymityResult:
    chosen = dict(zip(ladders, levels, strict=True))
    exprs = [ladders[name].exprs[level].alias(name) for name, level in chosen.items()]
    generalised = frame.with_columns(exprs).with_columns(pl.len().over(list(ladders)).alias(_GROUP))
    small = pl.col(_GROUP) < k
    kept = generalised.filter(~small)
    removed = (
        frame.with_columns(generalised[_GROUP])
        .filter(small)
        .with_columns(pl.format("group of {} < k={}", pl.col(_GROUP), pl.lit(k)).alias(REASON_COLUMN))
        .drop(_GROUP)
    )
    k_reached = int(kept.select(pl.col(_GROUP).min()).item()) if kept.height else 0
    loss, _ = _score(frame, ladders, levels, k)
    return AnonymityResult(
        kept=kept.drop(_GROUP),
        removed=removed,
        k=k,
        k_reached=k_reached,
        levels=chosen,
        labels={name: ladders[name].labels[level] for name, level in chosen.items()},
        information_loss=loss,
        nodes_searched=searched,
    )


@dataclass(frozen=True)
class AggregationResult:
    """What :func:`aggregate_unique` replaced.

    Attributes:
        frame: All rows, with the value columns of at-risk rows replaced by group summaries.
        at_risk: Rows whose quasi-identifier combination occurs fewer than ``k`` times.
        replaced: Values replaced, per value column.
    """

    frame: pl.DataFrame
    at_risk: int
    replaced: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        """The counts as plain data, for ``--json`` and reports."""
        return {
            "rows": self.frame.height,
            "kept": self.frame.height,
            "removed": 0,
            "at_risk": self.at_risk,
            "replaced": dict(self.replaced),
        }


def aggregate_unique(
    frame: pl.DataFrame, quasi_identifiers: Sequence[str], value_columns: Sequence[str], *, k: int
) -> AggregationResult:
    """Replace the values of rare rows by summaries of groups of at least ``k`` rows (microaggregation).

    A row is *at risk* when its quasi-identifier combination occurs fewer than ``k`` times. For
    each value column, all rows are sorted by that column and cut into consecutive groups of
    ``k`` (the remainder joins the last group, so groups hold ``k`` to ``2k - 1`` rows); an at-risk
    row's value becomes its group's mean (numbers) or most frequent value (other types, the
    smallest on ties). Rows not at risk keep their values; no row is removed. Nulls stay null.

    Example:
        >>> frame = pl.DataFrame({"zip": ["1", "1", "2", "3"], "income": [10, 20, 30, 50]})
        >>> aggregate_unique(frame, ["zip"], ["income"], k=2).frame["income"].to_list()
        [10.0, 20.0, 40.0, 40.0]
    """
    _check(frame, quasi_identifiers, k)
    for column in value_columns:
        if column not in frame.columns:
            raise CleanError(
                f"no value column {column!r} in the dataset", hint=f"choose from: {', '.join(frame.columns)}"
            )
    risky = pl.len().over(list(quasi_identifiers)) < k
    indexed = frame.with_row_index("__dw_row").with_columns(risky.alias("__dw_risky"))
    replaced: dict[str, int] = {}
    for column in value_columns:
        summary = _microaggregate(indexed, column, k)
        use = pl.col("__dw_risky") & pl.col(column).is_not_null()
        replaced[column] = int(indexed.select(use.sum()).item())
        indexed = indexed.with_columns(pl.when(use).then(summary).otherwise(pl.col(column)).alias(column))
    at_risk = int(indexed["__dw_risky"].sum())
    return AggregationResult(indexed.drop("__dw_row", "__dw_risky"), at_risk, replaced)


def _microaggregate(indexed: pl.DataFrame, column: str, k: int) -> pl.Series:
    """Each row's group summary of ``column``, in the frame's row order."""
    present = indexed.filter(pl.col(column).is_not_null()).sort(column, "__dw_row")
    groups = max(present.height // k, 1)
    chunk = pl.min_horizontal(pl.int_range(pl.len()) // k, groups - 1).alias("__dw_chunk")
    x = pl.col(column)
    if indexed.schema[column].is_numeric():
        summary = x.cast(pl.Float64).mean().over("__dw_chunk")
    else:
        summary = x.mode().sort().first().over("__dw_chunk")
    summaries = present.with_columns(chunk).select("__dw_row", summary.alias("__dw_summary"))
    joined = indexed.select("__dw_row").join(summaries, on="__dw_row", how="left", maintain_order="left")
    return joined["__dw_summary"]
