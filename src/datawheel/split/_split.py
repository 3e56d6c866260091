"""Splitting a frame: the modes, the ``split`` column, and the report of what each split holds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import polars_hash as plh

from datawheel.errors import SplitError
from datawheel.split._allocate import F64, I64, U64
from datawheel.split._columns import check_columns, label_matrix, strata_codes
from datawheel.split._core import I8, group_assign, multilabel_assign, stable_assign, stratified_assign
from datawheel.split._time import time_assign

__all__ = ["DEFAULT_NAMES", "GAP", "SPLIT_COLUMN", "SplitReport", "SplitResult", "split_frame", "split_names"]

SPLIT_COLUMN = "split"
GAP = "gap"
DEFAULT_NAMES: dict[int, tuple[str, ...]] = {2: ("train", "test"), 3: ("train", "dev", "test")}
_ID = "_row_id"
_SHOWN = 5


@dataclass(frozen=True)
class SplitReport:
    """What each split holds against its target, overall and per class.

    Attributes:
        mode: ``random``, ``stratified``, ``group``, ``multilabel``, ``time``, ``stable`` or
            ``stable-group``.
        names: The split names, in order.
        ratios: The target share of each split.
        rows: Rows split (gap rows included).
        split_rows: Rows per split.
        classes: Rows per class in the whole (for multi-label data: rows having each label).
        split_classes: Rows per class in each split.
        max_class_deviation: The largest ``|count - ratio x class total|`` over classes and splits,
            in rows (exact stratification keeps it below 1).
        max_ratio_deviation: The largest ``|rows of split / rows - ratio|`` over splits.
        groups: Groups per split (group modes).
        gap_rows: Rows left out in the gaps of a time split.
        warnings: Things to know: classes too small for every split, empty splits, ratios missed.
        params: The parameters of the split.
    """

    mode: str
    names: tuple[str, ...]
    ratios: tuple[float, ...]
    rows: int
    split_rows: dict[str, int]
    classes: dict[str, int]
    split_classes: dict[str, dict[str, int]]
    max_class_deviation: float
    max_ratio_deviation: float
    groups: dict[str, int] = field(default_factory=dict)
    gap_rows: int = 0
    warnings: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready values: ``splits`` maps each name to rows, share, target and classes.

        Example:
            >>> frame = pl.DataFrame({"y": ["a"] * 30 + ["b"] * 70})
            >>> report = split_frame(frame, [0.6, 0.2, 0.2], stratify=["y"]).report.to_dict()
            >>> report["splits"]["dev"]
            {'rows': 20, 'share': 0.2, 'target': 0.2, 'classes': {'a': 6, 'b': 14}}
        """
        splits: dict[str, dict[str, Any]] = {}
        for name, ratio in zip(self.names, self.ratios, strict=True):
            rows = self.split_rows[name]
            splits[name] = {
                "rows": rows,
                "share": round(rows / self.rows, 6) if self.rows else 0.0,
                "target": ratio,
                "classes": self.split_classes.get(name, {}),
            }
            if self.groups:
                splits[name]["groups"] = self.groups.get(name, 0)
        return {
            "mode": self.mode,
            "rows": self.rows,
            "splits": splits,
            "classes": self.classes,
            "max_deviation": {
                "class_rows": round(self.max_class_deviation, 6),
                "share": round(self.max_ratio_deviation, 6),
            },
            "gap_rows": self.gap_rows,
            "warnings": list(self.warnings),
            "params": self.params,
        }


@dataclass(frozen=True)
class SplitResult:
    """The input rows with a split column, and the report.

    Attributes:
        frame: Every input row, in input order, with the split's name in ``column``.
        report: What each split holds.
        column: The split column's name.
    """

    frame: pl.DataFrame
    report: SplitReport
    column: str = SPLIT_COLUMN

    def part(self, name: str) -> pl.DataFrame:
        """The rows of one split, without the split column.

        Example:
            >>> result = split_frame(pl.DataFrame({"x": range(10)}), [0.8, 0.2], seed=1)
            >>> result.part("test").height
            2
        """
        if name not in (*self.report.names, GAP):
            raise SplitError(f"no split {name!r}", hint=f"the splits are {', '.join(self.report.names)}")
        return self.frame.filter(pl.col(self.column) == name).drop(self.column)


def split_names(ratios: Sequence[float], names: Sequence[str] | None = None) -> tuple[str, ...]:
    """The split names: those given, else train/test for two, train/dev/test for three, else part1….

    Example:
        >>> split_names([0.6, 0.2, 0.2]), split_names([0.5, 0.5], ["a", "b"])
        (('train', 'dev', 'test'), ('a', 'b'))
    """
    if names is None:
        return DEFAULT_NAMES.get(len(ratios), tuple(f"part{i + 1}" for i in range(len(ratios))))
    chosen = tuple(n.strip() for n in names)
    if len(chosen) != len(ratios):
        raise SplitError(
            f"{len(chosen)} names ({', '.join(chosen)}) for {len(ratios)} ratios",
            hint="give one name per ratio, e.g. --names train,dev,test with --ratios 0.6,0.2,0.2",
        )
    if len(set(chosen)) != len(chosen) or any(not n for n in chosen) or GAP in chosen:
        raise SplitError(
            f"split names {', '.join(chosen)} must be distinct, non-empty, and not {GAP!r}",
            hint="pick other names",
        )
    return chosen


def _check_ratios(ratios: Sequence[float]) -> F64:
    values = np.asarray([float(r) for r in ratios], dtype=np.float64)
    if values.size < 2 or not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise SplitError(
            f"ratios {', '.join(f'{r:g}' for r in values)} must be two or more positive shares",
            hint="give shares like 0.6,0.2,0.2",
        )
    if abs(values.sum() - 1.0) > 1e-6:
        raise SplitError(
            f"ratios {', '.join(f'{r:g}' for r in values)} sum to {values.sum():g}, not 1",
            hint="give shares that add up to 1, e.g. 0.6,0.2,0.2",
        )
    out: F64 = values / values.sum()
    return out


def split_frame(
    frame: pl.DataFrame,
    ratios: Sequence[float],
    *,
    names: Sequence[str] | None = None,
    stratify: Sequence[str] | None = None,
    group: str | None = None,
    multilabel: Sequence[str] | None = None,
    time: str | None = None,
    cutoffs: Sequence[Any] | None = None,
    gap: str | float | timedelta | None = None,
    stable: bool = False,
    seed: int = 0,
    bins: int = 10,
    id_column: str = _ID,
    column: str = SPLIT_COLUMN,
) -> SplitResult:
    """Split rows into train/dev/test (or any named parts) by the mode the arguments choose.

    - ``stratify`` (one or more columns, jointly; float columns binned into ``bins`` quantile
      bins): each class gets exactly the largest-remainder share of its rows in each split;
    - ``group``: all rows of a group in one split, stratified as well as the groups allow;
    - ``multilabel``: iterative stratification, each label balanced across splits;
    - ``time``: earlier rows first, cut by ``cutoffs`` or by ``ratios``, with an optional ``gap``;
    - ``stable``: a row's split depends only on its ``id_column`` (or, with ``group``, its
      group's value) and ``seed``, so appended rows never move old ones;
    - none of these: exact random shares.

    Args:
        frame: The rows.
        ratios: The share of each split, summing to 1.
        names: The split names (default train/dev/test for three ratios, train/test for two).
        stratify: Columns whose joint values are the classes to balance.
        group: A column whose rows must stay together (user, patient, session, file).
        multilabel: Label columns (Boolean, 0/1, categorical or list) for iterative stratification.
        time: A date, datetime or numeric column to split by.
        cutoffs: With ``time``: the times where each later split starts.
        gap: With ``time``: rows within this much before a cut-off go to ``gap``.
        stable: Hash-based assignment that appends never change.
        seed: Seeds every random choice: the same seed and rows give the same split.
        bins: Quantile bins for float stratification columns.
        id_column: The row identity hashed in stable mode.
        column: The name of the added split column (replaced if the frame has it).

    Returns:
        The rows with their split, and the report.

    Raises:
        SplitError: Ratios that are not positive or do not sum to 1, names that do not match,
            a missing column, or modes that do not combine.

    Example:
        >>> frame = pl.DataFrame({"label": ["spam"] * 30 + ["ham"] * 70})
        >>> result = split_frame(frame, [0.6, 0.2, 0.2], stratify=["label"], seed=3)
        >>> result.report.split_classes["test"], result.report.split_rows
        ({'ham': 14, 'spam': 6}, {'train': 60, 'dev': 20, 'test': 20})
    """
    shares = _check_ratios(ratios)
    chosen = split_names(ratios, names)
    strat = list(stratify or [])
    _check_modes(group=group, multilabel=multilabel, time=time, stable=stable, stratify=strat)
    if frame.height == 0:
        raise SplitError("nothing to split: the frame has no rows", hint="split a version that has rows")
    if bins < 1:
        raise SplitError(f"bins must be at least 1, not {bins}", hint="use --bins 10 for deciles")
    frame = frame.drop(column, strict=False)
    check_columns(frame, [*strat, *([group] if group else []), *([time] if time else [])], "the split")
    params: dict[str, Any] = {"ratios": shares.tolist(), "names": list(chosen), "seed": seed}
    labels_matrix: npt.NDArray[np.bool_] | None = None
    warnings: list[str] = []
    group_codes: I64 | None = None
    codes, labels = strata_codes(frame, strat, bins=bins) if strat else (None, [])
    if time is not None:
        mode = "time"
        assign, shown = time_assign(frame, time, shares, cutoffs=cutoffs, gap=gap)
        params.update(time=time, cutoffs=shown, gap=None if gap is None else str(gap))
    elif multilabel:
        mode = "multilabel"
        labels_matrix, labels = label_matrix(frame, multilabel)
        assign = multilabel_assign(labels_matrix, shares, seed)
        params["multilabel"] = list(multilabel)
    elif group is not None:
        group_codes = strata_codes(frame, [group], bins=bins, labelled=False)[0]
        if stable:
            mode = "stable-group"
            assign = stable_assign(_hashes(frame, group, seed), shares)
        else:
            mode = "group"
            strata = codes if codes is not None else np.zeros(frame.height, dtype=np.int64)
            assign = group_assign(group_codes, strata, shares, seed)
        params["group"] = group
    elif stable:
        mode = "stable"
        check_columns(frame, [id_column], "stable assignment (its row id)")
        assign = stable_assign(_hashes(frame, id_column, seed), shares)
        params["id_column"] = id_column
    else:
        mode = "stratified" if strat else "random"
        strata = codes if codes is not None else np.zeros(frame.height, dtype=np.int64)
        assign = stratified_assign(strata, shares, seed)[0]
    if strat:
        params.update(stratify=strat, bins=bins)
    report = _report(
        mode, chosen, shares, assign, codes, labels, labels_matrix, group_codes, params, warnings
    )
    named = pl.Series(column, assign).replace_strict(
        list(range(-1, len(chosen))), [GAP, *chosen], return_dtype=pl.String
    )
    return SplitResult(frame.with_columns(named), report, column)


def _check_modes(
    *,
    group: str | None,
    multilabel: Sequence[str] | None,
    time: str | None,
    stable: bool,
    stratify: list[str],
) -> None:
    clash = None
    if time is not None and (group is not None or multilabel or stable):
        clash = "a time split cannot also be grouped, multi-label or stable"
    elif multilabel and (group is not None or stable or stratify):
        clash = "a multi-label split cannot also be grouped, stable or stratified on other columns"
    if clash:
        raise SplitError(clash, hint="pick one mode; --stratify with --time only reports the classes")


def _hashes(frame: pl.DataFrame, column: str, seed: int) -> U64:
    """A portable 64-bit hash (xxh3, seeded) of each row's value of ``column`` as text."""
    text = frame.select(pl.col(column).cast(pl.String).fill_null("\x00null").alias("_h"))
    out: U64 = text.select(plh.col("_h").nchash.xxh3_64(seed=seed)).to_series().to_numpy().astype(np.uint64)
    return out


def _report(
    mode: str,
    names: tuple[str, ...],
    shares: F64,
    assign: I8,
    codes: I64 | None,
    labels: list[str],
    matrix: npt.NDArray[np.bool_] | None,
    groups: I64 | None,
    params: dict[str, Any],
    warnings: list[str],
) -> SplitReport:
    k = len(names)
    inside = assign >= 0
    per_split = np.bincount(assign[inside], minlength=k)
    table = _class_table(assign, codes, matrix, k, len(labels))
    totals = table.sum(axis=1)
    deviation = float(np.abs(table - totals[:, None] * shares[None, :]).max()) if table.size else 0.0
    total_rows = int(inside.sum())
    ratio_dev = float(np.abs(per_split / max(total_rows, 1) - shares).max())
    warnings += _small_class_warnings(table, labels, names, by_rule=mode in ("stratified", "group"))
    warnings += [f"split {n!r} got no rows" for n, c in zip(names, per_split, strict=True) if c == 0]
    group_counts: dict[str, int] = {}
    if groups is not None:
        seen = np.zeros((int(groups.max()) + 1, k), dtype=bool)
        seen[groups[inside], assign[inside]] = True
        group_counts = {n: int(c) for n, c in zip(names, seen.sum(axis=0), strict=True)}
        if ratio_dev > 0.01:
            achieved = ", ".join(
                f"{n} {c / max(total_rows, 1):.3f}" for n, c in zip(names, per_split, strict=True)
            )
            warnings.append(f"groups too large for the ratios exactly: achieved {achieved}")
    return SplitReport(
        mode=mode,
        names=names,
        ratios=tuple(float(r) for r in shares),
        rows=assign.size,
        split_rows={n: int(c) for n, c in zip(names, per_split, strict=True)},
        classes={label: int(t) for label, t in zip(labels, totals, strict=True)},
        split_classes={
            n: {label: int(table[i, j]) for i, label in enumerate(labels) if table[i, j]}
            for j, n in enumerate(names)
        },
        max_class_deviation=deviation,
        max_ratio_deviation=ratio_dev,
        groups=group_counts,
        gap_rows=int((~inside).sum()),
        warnings=tuple(warnings),
        params=params,
    )


def _class_table(
    assign: I8, codes: I64 | None, matrix: npt.NDArray[np.bool_] | None, k: int, n_classes: int
) -> npt.NDArray[np.int64]:
    """Classes x splits row counts (gap rows left out)."""
    inside = assign >= 0
    if matrix is not None:
        onehot = np.eye(k, dtype=np.int64)[assign[inside]]
        out: npt.NDArray[np.int64] = matrix[inside].astype(np.int64).T @ onehot
        return out
    if codes is None:
        return np.zeros((0, k), dtype=np.int64)
    flat = np.bincount(codes[inside] * k + assign[inside], minlength=n_classes * k)
    return flat.reshape(n_classes, k).astype(np.int64)


def _small_class_warnings(
    table: npt.NDArray[np.int64], labels: list[str], names: tuple[str, ...], *, by_rule: bool
) -> list[str]:
    k = len(names)
    small = np.flatnonzero(table.sum(axis=1) < k)
    if not small.size:
        return []
    shown = "; ".join(
        f"{labels[i]!r} ({int(table[i].sum())} rows: "
        + ", ".join(names[j] for j in np.flatnonzero(table[i]))
        + ")"
        for i in small[:_SHOWN]
    )
    more = f" and {small.size - _SHOWN} more" if small.size > _SHOWN else ""
    rule = "their rows went to the splits furthest below their target" if by_rule else "where they went"
    return [
        f"{small.size} class{'es' if small.size > 1 else ''} with fewer rows than the {k} splits cannot be "
        f"in every split; {rule}: {shown}{more}"
    ]
