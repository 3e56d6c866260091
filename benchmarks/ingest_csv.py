"""Ingest a generated CSV (10,000,000 rows x 10 columns) beside a plain ``polars.read_csv``.

Each side runs in a process of its own, so that its peak memory (max RSS) and CPU time are its
own, and the sides take turns ``--runs`` times (the median is reported: the machine's speed
drifts by 10-20% between runs):

- Polars: ``pl.read_csv(path)``, the whole file into memory, nothing else (the goal's yardstick);
- Polars, read and store: ``pl.scan_csv(path).sink_parquet(...)``, Polars' own streaming read
  into one zstd Parquet file, for scale: the nearest plain job that, like an ingest, leaves the
  data on disk;
- datawheel: ``ingest(workspace, path, name=...)``: encoding and dialect detection, a survey of
  the file's bytes (every row's field count, UTF-8 in NFC, the digest), type inference, the
  rows read, identified (``_row_id``/``_row_hash``), given ``_source`` provenance and written in
  one streaming query, repeats numbered, the Delta commit, the catalog and lineage records.

With ``--chunked``, a fourth side ingests the file chunk by chunk, as datawheel reads a file
its survey cannot prove sound (quotes, repeated first lines, another encoding), for scale.
With ``--key``, another ingests it with ``--key id``, the read a keyed dataset takes (chunk by
chunk, every key checked: an empty or repeated one is quarantined).

``--compression lz4`` (or ``snappy``) sets the workspace's ``[store] compression``;
``--repeats 0.1`` makes the last tenth of the rows repeat the first tenth, which datawheel gives
ids of their own (the n-th repeat of a content).

``--quoted`` puts a comma in the free text, so that every row has a quoted field, as many
files exported from spreadsheets and databases do.

``--shards N`` cuts the file into N files of about equal size, each with the header, and every
side reads them all (``polars.read_csv`` and ``scan_csv`` take the glob; datawheel ingests it
as one table of shards).

``--gzip`` compresses the file (gzip, level 1) and every side reads the ``.csv.gz``: Polars
decompresses it in memory, datawheel into a plain copy it then reads as it reads any CSV. Two
more sides then decompress the file into a plain copy and do nothing else: with the standard
library's ``gzip`` and with zlib-ng's ``gzip_ng`` (which datawheel uses), for the ratio.

    python benchmarks/ingest_csv.py [--rows 10000000] [--runs 3] [--chunked] [--key] [--compression C]
                                    [--repeats F] [--quoted] [--shards N] [--gzip] [--keep]
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import polars as pl

from _common import print_table

_MEASURE = """
import json, os, resource, sys, time
def report(seconds, **more):
    times = os.times()
    print(json.dumps({"seconds": seconds, "cpu": times.user + times.system,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **more}))
"""

_POLARS = (
    _MEASURE
    + """
import polars as pl
start = time.perf_counter()
frame = pl.read_csv(sys.argv[1])
report(time.perf_counter() - start, rows=frame.height)
"""
)

_POLARS_STORE = (
    _MEASURE
    + """
import polars as pl
start = time.perf_counter()
pl.scan_csv(sys.argv[1]).sink_parquet(sys.argv[2], compression="zstd", compression_level=1)
seconds = time.perf_counter() - start
report(seconds, rows=pl.scan_parquet(sys.argv[2]).select(pl.len()).collect().item())
"""
)

_DATAWHEEL = (
    _MEASURE
    + """
import importlib
from pathlib import Path
from datawheel import Workspace, ingest
if sys.argv[3] == "chunked":  # every file read chunk by chunk, as files that are not sure are
    importlib.import_module("datawheel.ingest._text").STREAM_BYTES = 1 << 62
with Workspace.init(Path(sys.argv[2])):
    pass
config = Path(sys.argv[2]) / "datawheel.toml"
config.write_text(config.read_text().replace('# compression = "zstd"', f'compression = "{sys.argv[4]}"'))
with Workspace.open(Path(sys.argv[2])) as ws:
    start = time.perf_counter()
    result = ingest(ws, sys.argv[1], name="big", key=["id"] if sys.argv[3] == "keyed" else None)
    seconds = time.perf_counter() - start
report(seconds, rows=result.rows, quarantined=result.quarantined)
"""
)


_INFLATE = (
    _MEASURE
    + """
import gzip, shutil
from zlib_ng import gzip_ng
opener = gzip.open if sys.argv[3] == "gzip" else gzip_ng.open
start = time.perf_counter()
with opener(sys.argv[1], "rb") as stream, open(sys.argv[2], "wb") as out:
    shutil.copyfileobj(stream, out, 8 << 20)
report(time.perf_counter() - start, bytes=os.path.getsize(sys.argv[2]))
"""
)


def generate(path: Path, rows: int, *, repeats: float = 0.0, quoted: bool = False) -> None:
    """Ten columns: integers, floats, booleans, dates, categories and free text.

    With ``repeats`` (a share of the rows), the last rows repeat the first ones, row for row.
    With ``quoted``, the free text holds a comma, so that every row has a quoted field.
    """
    about = ", about item" if quoted else " about item"
    step, distinct = 1_000_000, rows - int(rows * repeats)
    with path.open("wb") as out:
        for start in range(0, rows, step):
            ids = (pl.int_range(start, min(start + step, rows), eager=True) % distinct).alias("id")
            frame = pl.DataFrame(ids).with_columns(
                (pl.col("id") * 7919 % 100_000).alias("user"),
                (pl.col("id") % 997 / 10).alias("amount"),
                (pl.col("id") % 3 == 0).alias("flag"),
                (pl.date(2024, 1, 1) + pl.duration(days=pl.col("id") % 700)).alias("day"),
                pl.format("cat{}", pl.col("id") % 50).alias("category"),
                pl.format("message {}" + about + " {}", pl.col("id"), pl.col("id") % 1234).alias("text"),
                (pl.col("id") * 0.001).alias("score"),
                pl.format("u{}@example.invalid", pl.col("id") % 100_000).alias("email"),
                (pl.col("id") % 120).alias("age"),
            )
            frame.write_csv(out, include_header=start == 0)


def cut(path: Path, shards: int) -> str:
    """``path`` cut at line ends into ``shards`` files, each with its header; their glob."""
    folder = path.with_name(path.stem + f"_{shards}_shards")
    folder.mkdir(exist_ok=True)
    size = path.stat().st_size
    with path.open("rb") as source:
        header = source.readline()
        for number in range(shards):
            end = size * (number + 1) // shards
            with (folder / f"part-{number:05d}.csv").open("wb") as out:
                out.write(header)
                while source.tell() < end and (block := source.read(min(8 << 20, end - source.tell()))):
                    out.write(block)
                out.write(source.readline())  # on to the end of the line cut
    return str(folder / "part-*.csv")


def run(code: str, *args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3, help="times each side runs, taking turns")
    parser.add_argument("--chunked", action="store_true", help="also ingest the file chunk by chunk")
    parser.add_argument("--key", action="store_true", help="also ingest the file with --key id")
    parser.add_argument(
        "--repeats", type=float, default=0.0, help="share of rows, at the end, that repeat earlier rows"
    )
    parser.add_argument(
        "--compression", default="zstd", help="the workspace's [store] compression (zstd, lz4, snappy…)"
    )
    parser.add_argument("--quoted", action="store_true", help="a comma in the text: a quoted field a row")
    parser.add_argument("--shards", type=int, default=0, help="cut the file into this many files")
    parser.add_argument("--gzip", action="store_true", help="every side reads the file gzip-compressed")
    parser.add_argument("--keep", action="store_true", help="keep the generated file in benchmarks/results/")
    args = parser.parse_args()
    folder = Path(__file__).parent / "results" if args.keep else Path(tempfile.mkdtemp())
    folder.mkdir(exist_ok=True)
    path = folder / f"ingest_{args.rows}_{args.repeats}{'_quoted' if args.quoted else ''}.csv"
    if not path.exists():
        generate(path, args.rows, repeats=args.repeats, quoted=args.quoted)
    size_mb = path.stat().st_size / 1e6
    if args.shards and args.gzip:
        raise SystemExit("--shards and --gzip do not go together")
    if args.key and args.repeats:
        raise SystemExit("--key and --repeats do not go together: repeated rows repeat their id")
    source = cut(path, args.shards) if args.shards else str(path)
    if args.gzip:
        packed = path.with_name(path.name + ".gz")
        if not packed.exists():
            with path.open("rb") as text, gzip.open(packed, "wb", compresslevel=1) as out:
                shutil.copyfileobj(text, out, 8 << 20)
        path = packed
        source = str(packed)
    results: dict[str, list[dict[str, float]]] = {
        "polars.read_csv (into memory)": [],
        "polars scan_csv + sink_parquet": [],
        "datawheel ingest": [],
        **({"datawheel ingest, chunk by chunk": []} if args.chunked else {}),
        **({"datawheel ingest --key id": []} if args.key else {}),
    }
    for _ in range(args.runs):
        results["polars.read_csv (into memory)"].append(run(_POLARS, source))
        stored = folder / "stored.parquet"
        results["polars scan_csv + sink_parquet"].append(run(_POLARS_STORE, source, str(stored)))
        stored.unlink(missing_ok=True)
        for side, mode in (
            ("datawheel ingest", "one-pass"),
            ("datawheel ingest, chunk by chunk", "chunked"),
            ("datawheel ingest --key id", "keyed"),
        ):
            if side in results:
                with tempfile.TemporaryDirectory() as workspace:  # the ingested copy is as large as the CSV
                    results[side].append(
                        run(_DATAWHEEL, source, str(Path(workspace) / "ws"), mode, args.compression)
                    )
    inflated: dict[str, list[dict[str, float]]] = {}
    if args.gzip:
        copy = folder / "inflated.csv"
        for _ in range(args.runs):
            for side, codec in (("gzip (standard library)", "gzip"), ("zlib-ng (datawheel)", "zlib-ng")):
                inflated.setdefault(side, []).append(run(_INFLATE, str(path), str(copy), codec))
                copy.unlink()
    for name, runs in results.items():
        if any(r["rows"] != args.rows or r.get("quarantined") for r in runs):
            raise SystemExit(f"rows disagree: {name} {runs}")
    repeated = f", the last {args.repeats:.0%} repeating the first rows" if args.repeats else ""
    repeated += ", a quoted field in every row" if args.quoted else ""
    repeated += f", in {args.shards} files" if args.shards else ""
    packed_mb = f" in {path.stat().st_size / 1e6:,.0f} MB of gzip" if args.gzip else ""
    print(
        f"{args.rows:,} rows x 10 columns{repeated}, {size_mb:,.0f} MB of CSV{packed_mb}, "
        f"{args.runs} runs a side\n"
    )
    median = {name: statistics.median(r["seconds"] for r in runs) for name, runs in results.items()}
    print_table(
        ["", "median s", "best s", "rows/s (median)", "CPU s (median)", "peak memory"],
        [
            [
                name,
                f"{median[name]:.2f}",
                f"{min(r['seconds'] for r in runs):.2f}",
                f"{args.rows / median[name]:,.0f}",
                f"{statistics.median(r['cpu'] for r in runs):.1f}",
                f"{max(r['peak_mb'] for r in runs):,.0f} MB",
            ]
            for name, runs in results.items()
        ],
    )
    ours, plain = median["datawheel ingest"], median["polars.read_csv (into memory)"]
    print(f"\ndatawheel / polars.read_csv time (medians): {ours / plain:.2f}x (goal: within 2x)")
    cpu = {name: statistics.median(r["cpu"] for r in runs) for name, runs in results.items()}
    print(
        "datawheel / polars.read_csv CPU time (medians): "
        f"{cpu['datawheel ingest'] / cpu['polars.read_csv (into memory)']:.2f}x"
    )
    print(
        f"datawheel / polars scan_csv + sink_parquet: {ours / median['polars scan_csv + sink_parquet']:.2f}x"
    )
    for side in ("datawheel ingest, chunk by chunk", "datawheel ingest --key id"):
        if side in median:
            print(f"{side} / polars.read_csv time (medians): {median[side] / plain:.2f}x")
    peaks = {name: max(r["peak_mb"] for r in runs) for name, runs in results.items()}
    plain_peak = peaks["polars.read_csv (into memory)"]
    print(f"peak memory: {peaks['datawheel ingest'] / plain_peak:.2f}x polars.read_csv's")
    if inflated:
        print("\nDecompressing the file into a plain copy, nothing else:\n")
        print_table(
            ["", "median s", "CPU s (median)", "MB/s of output"],
            [
                [
                    name,
                    f"{statistics.median(r['seconds'] for r in runs):.2f}",
                    f"{statistics.median(r['cpu'] for r in runs):.1f}",
                    f"{runs[0]['bytes'] / 1e6 / statistics.median(r['seconds'] for r in runs):,.0f}",
                ]
                for name, runs in inflated.items()
            ],
        )
        times = [statistics.median(r["cpu"] for r in runs) for runs in inflated.values()]
        print(f"\nstandard library / zlib-ng CPU time: {times[0] / times[1]:.2f}x")
    if not args.keep:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
