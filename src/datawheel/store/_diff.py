"""Row-level differences between two versions of a dataset, matched by ``_row_id``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl
import polars_hash as plh

from datawheel.store._rows import ROW_HASH, ROW_ID, data_columns


@dataclass(frozen=True)
class ColumnChanges:
    """Columns added, removed, or whose type changed between two versions."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    retyped: tuple[str, ...] = ()


@dataclass(frozen=True)
class DiffResult:
    """How version ``b`` differs from version ``a``.

    ``changed`` counts rows whose id is in both versions but whose content differs. The
    samples hold up to a few rows of each kind; for changed rows, each changed column maps to
    its ``[before, after]`` values.
    """

    a: str
    b: str
    added: int
    removed: int
    changed: int
    unchanged: int
    columns: ColumnChanges = field(default_factory=ColumnChanges)
    sample_added: tuple[dict[str, Any], ...] = ()
    sample_removed: tuple[dict[str, Any], ...] = ()
    sample_changed: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The stable ``--json`` shape of a diff."""
        return {
            "a": self.a,
            "b": self.b,
            "added": self.added,
            "removed": self.removed,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "columns": {
                "added": list(self.columns.added),
                "removed": list(self.columns.removed),
                "retyped": list(self.columns.retyped),
            },
            "sample": {
                "added": list(self.sample_added),
                "removed": list(self.sample_removed),
                "changed": list(self.sample_changed),
            },
        }


def diff_versions(
    a: pl.LazyFrame, b: pl.LazyFrame, *, a_name: str = "a", b_name: str = "b", sample: int = 5
) -> DiffResult:
    """Compare two versions by row id, reading only ids and content hashes for the counts.

    When the two versions list their common rows in the same order (as a version made by
    reading, editing and committing another does), rows are compared position by position;
    otherwise ids are joined. Only the sampled rows are read in full, in one scan per version.

    Example:
        >>> from datawheel.store._rows import with_row_identity
        >>> v1 = with_row_identity(pl.DataFrame({"k": [1, 2, 3], "x": ["a", "b", "c"]}), key=["k"])
        >>> v2 = with_row_identity(pl.DataFrame({"k": [2, 3, 4], "x": ["b", "C", "d"]}), key=["k"])
        >>> d = diff_versions(v1.lazy(), v2.lazy())
        >>> d.added, d.removed, d.changed, d.unchanged
        (1, 1, 1, 1)
        >>> d.sample_changed[0]["columns"]
        {'x': ['c', 'C']}
    """
    ids_a, ids_b = pl.collect_all([a.select(ROW_ID, ROW_HASH), b.select(ROW_ID, ROW_HASH)])  # concurrently
    found = _aligned(ids_a, ids_b, sample) or _joined(ids_a, ids_b, sample)
    before, after = _fetch(
        [(a, ids_a, found.removed + found.changed), (b, ids_b, found.added + found.changed)]
    )
    return DiffResult(
        a=a_name,
        b=b_name,
        added=found.counts["added"],
        removed=found.counts["removed"],
        changed=found.counts["changed"],
        unchanged=found.counts["unchanged"],
        columns=_column_changes(a.collect_schema(), b.collect_schema()),
        sample_added=tuple(after[i] for i in found.added),
        sample_removed=tuple(before[i] for i in found.removed),
        sample_changed=tuple(_changes(before[i], after[i]) for i in found.changed),
    )


@dataclass(frozen=True)
class _Found:
    counts: dict[str, int]
    added: list[str]
    removed: list[str]
    changed: list[str]


def _first(ids: pl.Series, sample: int) -> list[str]:
    """The ``sample`` smallest ids, without sorting them all."""
    return ids.bottom_k(sample).sort().to_list() if sample and len(ids) else []


def _aligned(a: pl.DataFrame, b: pl.DataFrame, sample: int) -> _Found | None:
    """Compare by position, if the shorter version's ids are a prefix of the longer's; else None.

    Ids are unique within a version, so then the longer version's tail holds exactly the rows
    the shorter lacks.
    """
    n = min(a.height, b.height)
    ids = a[ROW_ID].head(n)
    if not (ids == b[ROW_ID].head(n)).all():
        return None
    differs = a[ROW_HASH].head(n) != b[ROW_HASH].head(n)
    changed = int(differs.sum())
    added, removed = b[ROW_ID].slice(n), a[ROW_ID].slice(n)
    return _Found(
        {"added": len(added), "removed": len(removed), "changed": changed, "unchanged": n - changed},
        _first(added, sample),
        _first(removed, sample),
        _first(ids.filter(differs), sample),
    )


def _joined(a: pl.DataFrame, b: pl.DataFrame, sample: int) -> _Found:
    """Compare by joining ids: the general case, whatever the order of rows.

    The join runs on a 64-bit fingerprint of each id, several times faster than on the id text;
    every matched pair's ids are then checked, and should two ids ever share a fingerprint the
    join is redone on the ids themselves.
    """
    key = "_fingerprint"
    both = a.with_columns(_fingerprint(key)).join(
        b.with_columns(_fingerprint(key)), on=key, how="full", suffix="_b"
    )
    matched = both[ROW_ID].is_not_null() & both[f"{ROW_ID}_b"].is_not_null()
    if both.filter(matched).select((pl.col(ROW_ID) != pl.col(f"{ROW_ID}_b")).any()).item():
        both = a.join(b, on=ROW_ID, how="full", suffix="_b", coalesce=False)
        matched = both[ROW_ID].is_not_null() & both[f"{ROW_ID}_b"].is_not_null()
    differs = matched & (both[ROW_HASH] != both[f"{ROW_HASH}_b"])
    added = both[f"{ROW_ID}_b"].filter(both[ROW_ID].is_null())
    removed = both[ROW_ID].filter(both[f"{ROW_ID}_b"].is_null())
    changed = int(differs.sum())
    return _Found(
        {
            "added": len(added),
            "removed": len(removed),
            "changed": changed,
            "unchanged": int(matched.sum()) - changed,
        },
        _first(added, sample),
        _first(removed, sample),
        _first(both[ROW_ID].filter(differs), sample),
    )


def _fingerprint(name: str) -> pl.Expr:
    return plh.col(ROW_ID).nchash.xxh3_64().alias(name)


def _fetch(wanted: list[tuple[pl.LazyFrame, pl.DataFrame, list[str]]]) -> list[dict[str, dict[str, Any]]]:
    """For each version, the data columns of the wanted rows, by id; the scans run concurrently.

    Each scan filters on the rows' 64-bit content hashes, far cheaper to read and test than the
    ids, and then keeps the rows whose id is wanted.
    """
    plans = []
    for frame, ids, want in wanted:
        chosen = pl.Series(want, dtype=pl.String).implode()
        hashes = ids.filter(pl.col(ROW_ID).is_in(chosen))[ROW_HASH].implode()
        columns = [ROW_ID, *data_columns(frame.collect_schema().names())]
        plans.append(
            frame.filter(pl.col(ROW_HASH).is_in(hashes)).select(columns).filter(pl.col(ROW_ID).is_in(chosen))
        )
    results = pl.collect_all([p for p, (_, _, want) in zip(plans, wanted, strict=True) if want])
    found = iter(results)
    return [{r[ROW_ID]: r for r in next(found).to_dicts()} if want else {} for _, _, want in wanted]


def _changes(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    names = [c for c in new if c != ROW_ID] + [c for c in old if c != ROW_ID and c not in new]
    return {
        ROW_ID: new[ROW_ID],
        "columns": {c: [old.get(c), new.get(c)] for c in names if old.get(c) != new.get(c)},
    }


def _column_changes(a: pl.Schema, b: pl.Schema) -> ColumnChanges:
    a_cols, b_cols = data_columns(list(a)), data_columns(list(b))
    return ColumnChanges(
        added=tuple(c for c in b_cols if c not in a),
        removed=tuple(c for c in a_cols if c not in b),
        retyped=tuple(c for c in a_cols if c in b and a[c] != b[c]),
    )
