"""Leakage across splits: the same content, the same group, or near-duplicate pairs in two splits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from datawheel.split._columns import check_columns
from datawheel.split._split import GAP, SPLIT_COLUMN

__all__ = ["Leak", "LeakageReport", "check_leakage"]

_ID = "_row_id"
_KEY = "_leak_key"
_ROW = "_leak_row"


@dataclass(frozen=True)
class Leak:
    """One kind of leakage found (or not).

    Attributes:
        kind: ``exact`` (same content), ``group`` (same group value) or ``near`` (near-duplicate pairs).
        keys: Contents, groups or pairs found in more than one split.
        rows: Rows involved.
        examples: A few of them: the splits, row ids, and a preview of the content.
        params: What was compared (columns, threshold…).
    """

    kind: str
    keys: int
    rows: int
    examples: tuple[dict[str, Any], ...] = ()
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values: ``found`` (keys), ``rows``, ``examples`` and the parameters."""
        return {"found": self.keys, "rows": self.rows, "examples": list(self.examples), **self.params}


@dataclass(frozen=True)
class LeakageReport:
    """Every leakage check run on a split; ``leaked`` when any found something."""

    checks: tuple[Leak, ...]

    @property
    def leaked(self) -> bool:
        """Whether any check found rows shared across splits."""
        return any(c.keys for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """``{"leaked": bool, KIND: {...}}`` for each check run.

        Example:
            >>> frame = pl.DataFrame({"text": ["a", "a", "b"], "split": ["train", "test", "test"]})
            >>> report = check_leakage(frame).to_dict()
            >>> report["leaked"], report["exact"]["found"], report["exact"]["rows"]
            (True, 1, 2)
        """
        return {"leaked": self.leaked, **{c.kind: c.to_dict() for c in self.checks}}


def check_leakage(
    frame: pl.DataFrame,
    *,
    split: str = SPLIT_COLUMN,
    content: Sequence[str] | None = None,
    group: str | None = None,
    near_pairs: pl.DataFrame | None = None,
    id_column: str = _ID,
    examples: int = 5,
) -> LeakageReport:
    """Rows shared across splits: by exact content, by group, and by given near-duplicate pairs.

    Rows in the ``gap`` of a time split are left out. Exact content compares a hash of the
    ``content`` columns (default: every column but the split column and datawheel's own, which
    start with ``_``), so rows repeated within one split are not leakage, but the same row in
    train and test is.

    Args:
        frame: Rows with a split column.
        split: The split column.
        content: The columns whose equal values make two rows the same.
        group: A column whose value must not occur in two splits (user, patient, source file).
        near_pairs: Near-duplicate pairs as columns ``a`` and ``b`` holding ``id_column`` values
            (or row positions when the frame has no such column), and optionally ``similarity``;
            e.g. from ``datawheel.clean.near_duplicates``.
        id_column: The row identity shown in examples.
        examples: How many examples to keep per check.

    Returns:
        One :class:`Leak` per check run (exact always; group and near when asked).

    Example:
        >>> splits = ["train", "test", "test"]
        >>> frame = pl.DataFrame({"user": [1, 1, 2], "text": ["x", "y", "z"], "split": splits})
        >>> leak = check_leakage(frame, group="user").checks[1]
        >>> leak.kind, leak.keys, leak.rows, leak.examples[0]["splits"]
        ('group', 1, 2, ['test', 'train'])
    """
    check_columns(frame, [split, *(content or []), *([group] if group else [])], "the leakage check")
    rows = frame.with_row_index(_ROW).filter(pl.col(split) != GAP)
    columns = list(content) if content else [c for c in frame.columns if c != split and not c.startswith("_")]
    checks = [
        _shared(
            rows.with_columns(pl.struct(columns).hash(seed=7).alias(_KEY)),
            "exact",
            split,
            id_column,
            columns,
            examples,
        )
    ]
    if group is not None:
        keyed = rows.with_columns(pl.col(group).alias(_KEY))
        checks.append(_shared(keyed, "group", split, id_column, [group], examples, params={"column": group}))
    if near_pairs is not None:
        checks.append(_near(rows, near_pairs, split, id_column, columns, examples))
    return LeakageReport(tuple(checks))


def _shared(
    rows: pl.DataFrame,
    kind: str,
    split: str,
    id_column: str,
    columns: list[str],
    examples: int,
    *,
    params: dict[str, Any] | None = None,
) -> Leak:
    """Keys found in more than one split, with the rows that carry them."""
    ident = id_column if id_column in rows.columns else _ROW
    crossing = (
        rows.group_by(_KEY)
        .agg(
            pl.col(split).unique().sort().alias("splits"),
            pl.len().alias("n"),
            pl.col(ident).head(3).alias("ids"),
            pl.first(columns[0]).alias("preview") if columns else pl.lit(None).alias("preview"),
        )
        .filter(pl.col("splits").list.len() > 1)
        .sort("n", _KEY, descending=[True, False])
    )
    shown = tuple(
        {"splits": r["splits"], "rows": r["n"], "ids": r["ids"], "value": _preview(r["preview"])}
        for r in crossing.head(examples).iter_rows(named=True)
    )
    return Leak(
        kind,
        crossing.height,
        int(crossing.get_column("n").sum()),
        shown,
        params or {"columns": columns},
    )


def _near(
    rows: pl.DataFrame,
    pairs: pl.DataFrame,
    split: str,
    id_column: str,
    columns: list[str],
    examples: int,
) -> Leak:
    ident = id_column if id_column in rows.columns else _ROW
    side = rows.select(pl.col(ident).alias("id"), pl.col(split).alias("s"), pl.col(columns[0]).alias("v"))
    a_side = side.rename({"id": "a", "s": "split_a", "v": "value_a"})
    b_side = side.rename({"id": "b", "s": "split_b", "v": "value_b"})
    pairs = pairs.with_columns(pl.col("a").cast(a_side.schema["a"]), pl.col("b").cast(b_side.schema["b"]))
    joined = (
        pairs.join(a_side, on="a")
        .join(b_side, on="b")
        .filter(pl.col("split_a") != pl.col("split_b"))
        .sort("a", "b")
    )
    keep = [c for c in ("similarity",) if c in joined.columns]
    shown = tuple(
        {
            "splits": [r["split_a"], r["split_b"]],
            "ids": [r["a"], r["b"]],
            "values": [_preview(r["value_a"]), _preview(r["value_b"])],
            **{c: r[c] for c in keep},
        }
        for r in joined.head(examples).iter_rows(named=True)
    )
    involved = pl.concat([joined.get_column("a"), joined.get_column("b")]).n_unique() if joined.height else 0
    return Leak("near", joined.height, involved, shown, {"pairs_checked": pairs.height})


def _preview(value: object, width: int = 80) -> object:
    if isinstance(value, str) and len(value) > width:
        return value[: width - 1] + "…"
    return value
