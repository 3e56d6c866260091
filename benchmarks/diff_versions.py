"""Commit and diff a 1,000,000-row dataset with 1,000 changed rows, beside a plain Polars diff.

datawheel commits two versions (row ids from the key, content hashes, Delta write, catalog
entry) and diffs them by ``_row_id`` and ``_row_hash``, reading only those two columns from disk.
A third version holds the same rows in another order, so its diff takes the general path (a
join on ids) rather than the position-by-position one.

The peer is the diff one writes by hand in Polars: anti-joins of the two tables on every column,
classified by key — once with both tables already in memory, once reading them from Parquet.
Both must find the same counts.

    python benchmarks/diff_versions.py [--rows 1000000] [--changed 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import polars as pl

from _common import median_ms, print_table, seconds
from datawheel.workspace import Workspace


def make_table(rows: int) -> pl.DataFrame:
    return pl.DataFrame({"id": range(rows)}).with_columns(
        (pl.lit("user") + (pl.col("id") % 50_000).cast(pl.String)).alias("user"),
        (pl.lit("message number ") + pl.col("id").cast(pl.String) + pl.lit(" about something")).alias("text"),
        pl.when(pl.col("id") % 7 == 0).then(pl.lit("spam")).otherwise(pl.lit("ham")).alias("label"),
        ((pl.col("id") * 7919 % 1000) / 1000).alias("score"),
        (pl.datetime(2026, 1, 1) + pl.duration(seconds=pl.col("id"))).alias("at"),
    )


def edit(table: pl.DataFrame, changed: int) -> pl.DataFrame:
    every = table.height // changed
    hit = (pl.col("id") % every == 0) & (pl.col("id") < every * changed)
    return table.with_columns(
        pl.when(hit).then(pl.col("text") + pl.lit(" (edited)")).otherwise(pl.col("text"))
    )


def polars_diff(a: pl.DataFrame, b: pl.DataFrame) -> tuple[int, int, int]:
    """The hand-written diff: rows of each side with no identical row on the other, by key."""
    only_b = b.join(a, on=a.columns, how="anti", nulls_equal=True)
    only_a = a.join(b, on=b.columns, how="anti", nulls_equal=True)
    changed = only_b.join(only_a.select("id"), on="id", how="semi").height
    return only_b.height - changed, only_a.height - changed, changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--changed", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    v1 = make_table(args.rows)
    v2 = edit(v1, args.changed)
    with tempfile.TemporaryDirectory() as tmp, Workspace.init(Path(tmp) / "ws") as ws:
        commit1_s, _ = seconds(lambda: ws.commit("events", v1, key=["id"]))
        edited = edit(ws.read("events@1"), args.changed)  # the way a step edits a version
        commit2_s, _ = seconds(lambda: ws.commit("events", edited))
        result = ws.diff("events@1", "events@2")
        ours = (result.added, result.removed, result.changed)
        dw_ms = median_ms(lambda: ws.diff("events@1", "events@2"), repeat=args.repeat)
        # the same rows in another order: the diff must join ids instead of comparing positions
        ws.commit("events", ws.read("events@2").sample(fraction=1.0, shuffle=True, seed=3))
        shuffled = ws.diff("events@1", "events@3")
        if (shuffled.added, shuffled.removed, shuffled.changed) != ours:
            raise SystemExit(f"reordered diff disagrees: {shuffled.to_dict()}")
        join_ms = median_ms(lambda: ws.diff("events@1", "events@3"), repeat=args.repeat)

        a_path, b_path = Path(tmp) / "a.parquet", Path(tmp) / "b.parquet"
        v1.write_parquet(a_path)
        v2.write_parquet(b_path)
        theirs = polars_diff(v1, v2)
        mem_ms = median_ms(lambda: polars_diff(v1, v2), repeat=args.repeat)
        disk_ms = median_ms(
            lambda: polars_diff(pl.read_parquet(a_path), pl.read_parquet(b_path)), repeat=args.repeat
        )

    if ours != theirs or ours != (0, 0, args.changed):
        raise SystemExit(
            f"counts disagree: datawheel {ours}, Polars {theirs}, expected (0, 0, {args.changed})"
        )
    print(f"{args.rows:,} rows x {v1.width} columns, {args.changed:,} changed; counts agree: {ours}")
    print(f"datawheel commit v1: {commit1_s:.2f} s; commit v2 (read, edit, commit): {commit2_s:.2f} s\n")
    print(f"Polars anti-join diff (median): {mem_ms:.0f} ms with both tables in memory, ", end="")
    print(f"{disk_ms:.0f} ms reading them from Parquet\n")
    print_table(
        [
            "datawheel diff (median, from disk, 5 sample rows of each kind)",
            "time",
            "Polars in memory / dw",
            "Polars from Parquet / dw",
        ],
        [
            [
                "events@1 → events@2, rows in the same order",
                f"{dw_ms:.0f} ms",
                f"{mem_ms / dw_ms:.1f}x",
                f"{disk_ms / dw_ms:.1f}x",
            ],
            [
                "events@1 → events@3, rows reordered (id join)",
                f"{join_ms:.0f} ms",
                f"{mem_ms / join_ms:.1f}x",
                f"{disk_ms / join_ms:.1f}x",
            ],
        ],
    )


if __name__ == "__main__":
    main()
