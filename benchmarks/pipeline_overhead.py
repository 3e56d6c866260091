"""Per-step overhead of recording and caching: a 20-step pipeline of trivial steps.

Each step adds 1 to a column of a 100-row table, so nearly all of the time is datawheel's:
reading the input version, committing the output version (Delta + catalog), recording the
execution, its events and contexts, and computing the cache key. Measured on SQLite and on
PostgreSQL:

- the first run (every step executes), per step, beside calling the 20 functions directly;
- the no-op re-run (every step's fingerprint has outputs already: nothing executes).

    python benchmarks/pipeline_overhead.py [--steps 20] [--repeat 5] [--postgres URL]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import polars as pl

from _common import DEFAULT_POSTGRES, postgres_schema, print_table
from datawheel.pipeline import Step, StepSpec, build_pipeline, run_pipeline, step
from datawheel.workspace import Workspace


def add_one(table: pl.DataFrame) -> pl.DataFrame:
    """The trivial work of every step."""
    return table.with_columns(pl.col("n") + 1)


def chain(length: int) -> list[StepSpec]:
    specs = []
    for i in range(length):
        made: Step = step(name=f"s{i:02d}", outputs=f"t{i + 1:02d}")(add_one)
        specs.append(StepSpec(f"s{i:02d}", made, inputs={"table": f"t{i:02d}"}))
    return specs


def measure(url: str | None, steps: int, repeat: int) -> dict[str, float]:
    start_table = pl.DataFrame({"n": range(100)})
    pipeline = build_pipeline("overhead", chain(steps))
    firsts, noops = [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp, Workspace.init(Path(tmp) / "ws", database_url=url) as ws:
            ws.commit("t00", start_table)
            start = time.perf_counter()
            report = run_pipeline(ws, pipeline)
            firsts.append(time.perf_counter() - start)
            assert len(report.executed) == steps
            start = time.perf_counter()
            again = run_pipeline(ws, pipeline)
            noops.append(time.perf_counter() - start)
            assert again.executed == []
            assert ws.read(f"t{steps:02d}")["n"].to_list() == [i + steps for i in range(100)]
        if url is not None:  # a fresh schema for each repeat
            break
    return {"first": statistics.median(firsts), "noop": statistics.median(noops)}


def direct(steps: int, repeat: int) -> float:
    table = pl.DataFrame({"n": range(100)})
    times = []
    for _ in range(repeat * 10):
        start = time.perf_counter()
        out = table
        for _ in range(steps):
            out = add_one(out)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    args = parser.parse_args()
    plain = direct(args.steps, args.repeat)
    rows = [["calling the functions directly", f"{plain * 1000:.1f} ms", "—", "—"]]
    results = {"SQLite": measure(None, args.steps, args.repeat)}
    with postgres_schema(args.postgres) as url:
        if url is not None:
            results["PostgreSQL"] = measure(url, args.steps, args.repeat)
    for name, r in results.items():
        per_step = (r["first"] - plain) / args.steps * 1000
        rows.append(
            [
                f"datawheel run, {name}",
                f"{r['first'] * 1000:.0f} ms",
                f"{per_step:.1f} ms",
                f"{r['noop'] * 1000:.0f} ms",
            ]
        )
    print(f"{args.steps}-step pipeline of trivial steps (100 rows each), median of runs\n")
    print_table(["", "first run", "overhead per step", "no-op re-run"], rows)


if __name__ == "__main__":
    main()
