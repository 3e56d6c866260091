"""Ingest a generated CSV (10,000,000 rows x 10 columns) beside a plain ``polars.read_csv``.

Each side runs in its own process, so that its peak memory (max RSS) is its own:

- Polars: ``pl.read_csv(path)``, the whole file into memory, nothing else (the goal's yardstick);
- Polars, read and store: ``pl.read_csv(path).write_parquet(...)``, for scale: the nearest plain
  job that, like an ingest, leaves the data on disk;
- datawheel: ``ingest(workspace, path, name=...)``: encoding detection, chunked parsing with
  every row's field count checked, type inference, quarantine, ``_row_id``/``_row_hash``,
  ``_source`` provenance, the Delta commit, the catalog and lineage records.

    python benchmarks/ingest_csv.py [--rows 10000000] [--keep]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import polars as pl

from _common import print_table

_POLARS = """
import json, resource, sys, time
import polars as pl
start = time.perf_counter()
frame = pl.read_csv(sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - start, "rows": frame.height,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

_POLARS_STORE = """
import json, resource, sys, time
import polars as pl
start = time.perf_counter()
frame = pl.read_csv(sys.argv[1])
frame.write_parquet(sys.argv[2])
print(json.dumps({"seconds": time.perf_counter() - start, "rows": frame.height,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

_DATAWHEEL = """
import json, resource, sys, time
from pathlib import Path
from datawheel import Workspace, ingest
with Workspace.init(Path(sys.argv[2])) as ws:
    start = time.perf_counter()
    report = ingest(ws, Path(sys.argv[1]), name="big")
    seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "rows": report.rows, "quarantined": report.quarantined,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def generate(path: Path, rows: int) -> None:
    """Ten columns: integers, floats, booleans, dates, categories and free text."""
    step = 1_000_000
    with path.open("wb") as out:
        for start in range(0, rows, step):
            ids = pl.int_range(start, min(start + step, rows), eager=True).alias("id")
            frame = pl.DataFrame(ids).with_columns(
                (pl.col("id") * 7919 % 100_000).alias("user"),
                (pl.col("id") % 997 / 10).alias("amount"),
                (pl.col("id") % 3 == 0).alias("flag"),
                (pl.date(2024, 1, 1) + pl.duration(days=pl.col("id") % 700)).alias("day"),
                pl.format("cat{}", pl.col("id") % 50).alias("category"),
                pl.format("message {} about item {}", pl.col("id"), pl.col("id") % 1234).alias("text"),
                (pl.col("id") * 0.001).alias("score"),
                pl.format("u{}@example.invalid", pl.col("id") % 100_000).alias("email"),
                (pl.col("id") % 120).alias("age"),
            )
            frame.write_csv(out, include_header=start == 0)


def run(code: str, *args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the generated file in benchmarks/results/")
    args = parser.parse_args()
    folder = Path(__file__).parent / "results" if args.keep else Path(tempfile.mkdtemp())
    folder.mkdir(exist_ok=True)
    path = folder / f"ingest_{args.rows}.csv"
    if not path.exists():
        generate(path, args.rows)
    size_mb = path.stat().st_size / 1e6
    polars = run(_POLARS, str(path))
    stored = run(_POLARS_STORE, str(path), str(folder / "stored.parquet"))
    (folder / "stored.parquet").unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as workspace:  # the ingested copy is as large as the CSV
        ours = run(_DATAWHEEL, str(path), str(Path(workspace) / "ws"))
    if ours["rows"] != polars["rows"] or ours["quarantined"]:
        raise SystemExit(f"rows disagree: datawheel {ours}, Polars {polars}")
    print(f"{args.rows:,} rows x 10 columns, {size_mb:,.0f} MB of CSV\n")
    print_table(
        ["", "seconds", "rows/s", "peak memory"],
        [
            [
                "polars.read_csv (into memory)",
                f"{polars['seconds']:.2f}",
                f"{polars['rows'] / polars['seconds']:,.0f}",
                f"{polars['peak_mb']:,.0f} MB",
            ],
            [
                "polars.read_csv + write_parquet",
                f"{stored['seconds']:.2f}",
                f"{stored['rows'] / stored['seconds']:,.0f}",
                f"{stored['peak_mb']:,.0f} MB",
            ],
            [
                "datawheel ingest (ids, provenance, quarantine, Delta commit)",
                f"{ours['seconds']:.2f}",
                f"{ours['rows'] / ours['seconds']:,.0f}",
                f"{ours['peak_mb']:,.0f} MB",
            ],
        ],
    )
    print(f"\ndatawheel / polars.read_csv time: {ours['seconds'] / polars['seconds']:.2f}x (goal: within 2x)")
    print(f"datawheel / polars.read_csv + write_parquet time: {ours['seconds'] / stored['seconds']:.2f}x")
    print(f"peak memory: {ours['peak_mb'] / polars['peak_mb']:.2f}x polars.read_csv's")
    if not args.keep:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
