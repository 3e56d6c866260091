"""Profiling a 1,000,000 x 20 mixed table: datawheel vs Polars describe, ydata-profiling and Evidently.

The table (generated with a seed, written once to Parquet): integers, floats, categories, codes,
booleans, two text columns (Hangul and Latin words), dates and datetimes, with some nulls. Each
tool runs in its own process on the same Parquet file, timed from reading the file to having its
profile (datawheel: :func:`datawheel.validate.profile`; Polars: ``DataFrame.describe``;
ydata-profiling: ``ProfileReport(minimal=True).get_description()``; Evidently: a Report with
``DataSummaryPreset`` run on the table), and its peak resident memory (``ru_maxrss``).

    python benchmarks/profile.py [--rows 1000000] [--tools datawheel,polars,ydata,evidently]

The peers would downgrade numpy/pandas/polars in ``.venv``, so they live in a venv of their own,
``.venv-peers`` (git-ignored), which this script calls as a subprocess:

    python -m venv .venv-peers && .venv-peers/bin/pip install ydata-profiling evidently pyarrow

A tool whose package is missing is skipped and said so.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import polars as pl

from _common import print_table

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / ".venv-peers" / "bin" / "python"
WORDS = [
    *("the", "data", "wheel", "turns", "model", "label", "drift", "batch", "2024", "spam", "ham"),
    *("quick", "brown", "fox", "데이터", "바퀴", "검증"),
]

# (imports, timed body): imports are not timed; reading the Parquet file is
_RUNNERS = {
    "datawheel": (
        "import polars as pl\nfrom datawheel.validate import profile",
        "p = profile(pl.read_parquet(PATH))\nassert p.rows == ROWS",
    ),
    "polars": ("import polars as pl", "d = pl.read_parquet(PATH).describe()"),
    "ydata": (
        "import pandas as pd\nfrom ydata_profiling import ProfileReport",
        "ProfileReport(pd.read_parquet(PATH), minimal=True, progress_bar=False).get_description()",
    ),
    "evidently": (
        "import pandas as pd\nfrom evidently import Report\nfrom evidently.presets import DataSummaryPreset",
        # Evidently rejects int8 values as category labels: widen them (same data)
        "frame = pd.read_parquet(PATH)\nframe['small'] = frame['small'].astype('int64')\n"
        "Report([DataSummaryPreset()]).run(frame, None)",
    ),
}

_TIMER = """
import json, resource, sys, time, warnings
warnings.filterwarnings("ignore")
{imports}
PATH, ROWS = sys.argv[1], int(sys.argv[2])
start = time.perf_counter()
{body}
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"seconds": seconds, "peak_mb": peak}}))
"""


def make_table(rows: int, seed: int = 0) -> pl.DataFrame:
    """The mixed table: 20 columns of numbers, categories, booleans, text and times, some nulls."""
    r = np.random.default_rng(seed)
    words = np.array(WORDS)[r.integers(0, len(WORDS), size=(rows, 6))]
    text = pl.DataFrame({f"w{i}": words[:, i] for i in range(6)}).select(
        pl.concat_str(pl.all(), separator=" ").alias("t")
    )["t"]
    start = np.datetime64("2020-01-01T00:00:00", "ms")
    frame = pl.DataFrame(
        {
            "id": np.arange(rows),
            "age": r.integers(17, 90, rows),
            "count": r.poisson(3, rows),
            "income": r.lognormal(10, 1, rows),
            "score": r.normal(0, 1, rows),
            "ratio": r.random(rows),
            "temp": r.normal(20, 5, rows).astype(np.float32),
            "category": np.array(["Private", "Self-emp", "Gov", "Never", "Unknown"])[r.integers(0, 5, rows)],
            "country": np.array([f"c{i}" for i in range(60)])[r.zipf(1.5, rows) % 60],
            "code": np.array([f"K{i:04d}" for i in range(5000)])[r.integers(0, 5000, rows)],
            "flag": r.random(rows) < 0.3,
            "active": r.random(rows) < 0.8,
            "text": text,
            "title": pl.Series(words[:, 0]) + " " + pl.Series(words[:, 1]),
            "day": (start + r.integers(0, 1500, rows).astype("timedelta64[D]")).astype("datetime64[D]"),
            "ts": start + (r.integers(0, 10**8, rows) * 1000).astype("timedelta64[ms]"),
            "small": r.integers(0, 10, rows).astype(np.int8),
            "big": r.integers(0, 10**12, rows),
            "label": np.array(["a", "b", "c"])[r.integers(0, 3, rows)],
            "maybe": r.normal(5, 2, rows),
        }
    )
    return frame.with_columns(
        pl.when(pl.Series(r.random(rows) < 0.05)).then(None).otherwise(pl.col("maybe")).alias("maybe"),
        pl.when(pl.Series(r.random(rows) < 0.02)).then(None).otherwise(pl.col("category")).alias("category"),
    )


def run_tool(tool: str, path: Path, rows: int) -> dict[str, float] | str:
    """One tool in its own process: seconds and peak MB, or why it was skipped."""
    python = sys.executable if tool in ("datawheel", "polars") else str(PEERS)
    if not Path(python).exists():
        return f"no {PEERS} (see this script's docstring)"
    imports, body = _RUNNERS[tool]
    code = _TIMER.format(imports=imports, body=body)
    done = subprocess.run(
        [python, "-c", code, str(path), str(rows)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        return done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--tools", default="datawheel,polars,ydata,evidently")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mixed.parquet"
        make_table(args.rows).write_parquet(path)
        print(f"{args.rows:,} rows x 20 columns, {path.stat().st_size / 1e6:.1f} MB of Parquet")
        results = {tool: run_tool(tool, path, args.rows) for tool in args.tools.split(",")}
    ours = results.get("datawheel")
    rows = []
    for tool, result in results.items():
        if isinstance(result, str):
            rows.append([tool, "skipped", "", "", result])
            continue
        ratio = ""
        if isinstance(ours, dict) and tool != "datawheel":
            ratio = f"{result['seconds'] / ours['seconds']:.2f}x datawheel's time"
        rows.append([tool, f"{result['seconds']:.2f}", f"{result['peak_mb']:.0f}", ratio, ""])
    print_table(["tool", "seconds", "peak MB", "time vs datawheel", "note"], rows)


if __name__ == "__main__":
    main()
