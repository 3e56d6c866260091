"""Stratified and stratified-group splits: datawheel vs scikit-learn, on the same generated data.

The data: ``--rows`` rows (default 10,000,000), ``--classes`` classes (default 100, skewed: class
``c`` has weight ``1 / (c + 1)``, so the rarest holds ~0.2% of rows) and ``--groups`` groups
(default 1,000,000, about 10 rows each). Each group has a class of its own; 80% of its rows carry
that class, the rest a class drawn from the whole distribution.

Each tool makes an 80/20 train/test split in its own process, timed from the loaded arrays to the
test indices, with its peak resident memory:

- ``datawheel stratified``: ``split_frame(frame, [0.8, 0.2], stratify=["y"])``;
- ``sklearn StratifiedShuffleSplit``: ``StratifiedShuffleSplit(n_splits=1, test_size=0.2)``;
- ``datawheel group``: ``split_frame(frame, [0.8, 0.2], group="g", stratify=["y"])``;
- ``sklearn StratifiedGroupKFold``: the first fold of ``StratifiedGroupKFold(n_splits=5)`` (20% test).

Balance is measured the same way for all: the largest ``|test rows of a class - 0.2 x its rows|``
(in rows, and as a share of the class), and the test share of all rows. StratifiedGroupKFold loops
over groups in Python and keeps a groups x classes matrix, so by default it runs on ``--sgkf-rows``
(1,000,000 rows, 100,000 groups), beside datawheel's group split on that same smaller data; pass
``--sgkf-rows 0`` to run it at full size.

    python benchmarks/split.py [--rows 10000000] [--classes 100] [--groups 1000000] [--sgkf-rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from _common import print_table

SEED = 11
TOOLS = (
    "datawheel-stratified",
    "sklearn-StratifiedShuffleSplit",
    "datawheel-group",
    "sklearn-StratifiedGroupKFold",
)


def generate(rows: int, classes: int, groups: int, seed: int = SEED) -> pl.DataFrame:
    """Columns ``y`` (class) and ``g`` (group), as described in the module's documentation."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, classes + 1)
    weights /= weights.sum()
    group_class = rng.choice(classes, size=groups, p=weights)
    g = rng.integers(0, groups, size=rows)
    stray = rng.random(rows) < 0.2
    y = np.where(stray, rng.choice(classes, size=rows, p=weights), group_class[g])
    return pl.DataFrame({"y": y.astype(np.int32), "g": g.astype(np.int32)})


def run_tool(tool: str, frame: pl.DataFrame) -> npt.NDArray[np.bool_]:
    """The test mask of one tool's 80/20 split."""
    y, g = frame.get_column("y").to_numpy(), frame.get_column("g").to_numpy()
    if tool.startswith("datawheel"):
        from datawheel.split import split_frame

        group = "g" if tool == "datawheel-group" else None
        result = split_frame(frame, [0.8, 0.2], stratify=["y"], group=group, seed=SEED)
        mask: npt.NDArray[np.bool_] = (result.frame.get_column("split") == "test").to_numpy()
        return mask
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedShuffleSplit

    x = np.zeros((len(y), 1), dtype=np.int8)
    if tool == "sklearn-StratifiedShuffleSplit":
        _, test = next(StratifiedShuffleSplit(n_splits=1, test_size=0.2, random_state=SEED).split(x, y))
    else:
        _, test = next(StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=SEED).split(x, y, g))
    out = np.zeros(len(y), dtype=bool)
    out[test] = True
    return out


def child(tool: str, data: Path, out: Path) -> None:
    frame = pl.read_parquet(data)
    if tool.startswith("datawheel"):  # imports are not timed
        import datawheel.split  # noqa: F401
    else:
        import sklearn.model_selection  # noqa: F401
    start = time.perf_counter()
    mask = run_tool(tool, frame)
    seconds = time.perf_counter() - start
    np.save(out, mask)
    print(
        json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})
    )


def measure(tool: str, data: Path, out: Path, timeout: float) -> dict[str, Any] | None:
    try:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", tool, "--data", str(data), "--out", str(out)],
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        print(f"({tool} did not finish within {timeout:.0f} s)")
        return None
    if proc.returncode:
        print(f"({tool} failed: {proc.stderr.strip().splitlines()[-1:]})")
        return None
    stats: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return stats


def balance(frame: pl.DataFrame, test: npt.NDArray[np.bool_]) -> dict[str, float]:
    """Largest class deviation of the test split from 20% (rows, share), test share, groups split apart."""
    y, g = frame.get_column("y").to_numpy(), frame.get_column("g").to_numpy()
    totals = np.bincount(y)
    in_test = np.bincount(y[test], minlength=totals.size)
    dev = np.abs(in_test - 0.2 * totals)
    present = totals > 0
    crossing = (
        pl.DataFrame({"g": g, "t": test}).group_by("g").agg(pl.col("t").n_unique()).filter(pl.col("t") > 1)
    )
    return {
        "rows": float(dev.max()),
        "share": float((dev[present] / totals[present]).max()),
        "test_share": float(test.mean()),
        "groups_crossing": float(crossing.height),
    }


def compare(frame: pl.DataFrame, tools: list[str], label: str, timeout: float) -> list[list[str]]:
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.parquet"
        frame.write_parquet(data)
        for tool in tools:
            out = Path(tmp) / f"{tool}.npy"
            stats = measure(tool, data, out, timeout)
            if stats is None:
                rows.append([label, tool, "—", "—", "—", "—", "—", "—"])
                continue
            b = balance(frame, np.load(out))
            rows.append(
                [
                    label,
                    tool,
                    f"{stats['seconds']:.2f}",
                    f"{stats['peak_mb']:,.0f}",
                    f"{b['rows']:.1f}",
                    f"{b['share']:.4f}",
                    f"{b['test_share']:.5f}",
                    f"{b['groups_crossing']:.0f}",
                ]
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--groups", type=int, default=1_000_000)
    parser.add_argument(
        "--sgkf-rows", type=int, default=1_000_000, help="0: StratifiedGroupKFold at full size"
    )
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--child")
    parser.add_argument("--data", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.data, args.out)
        return
    frame = generate(args.rows, args.classes, args.groups)
    print(f"{args.rows:,} rows, {args.classes} classes, {args.groups:,} groups; 80/20 train/test")
    full = f"{args.rows:,}"
    table = compare(frame, list(TOOLS[:3]), full, args.timeout)
    small_rows = args.sgkf_rows if 0 < args.sgkf_rows < args.rows else args.rows
    if small_rows == args.rows:
        table += compare(frame, [TOOLS[3]], full, args.timeout)
    else:
        groups = max(1, args.groups * small_rows // args.rows)
        small = generate(small_rows, args.classes, groups)
        table += compare(
            small, ["datawheel-group", TOOLS[3]], f"{small_rows:,} ({groups:,} groups)", args.timeout
        )
    print_table(
        [
            "rows",
            "tool",
            "seconds",
            "peak MB",
            "max class dev (rows)",
            "max class dev (share)",
            "test share",
            "groups split",
        ],
        table,
    )
    timed = {(r[0], r[1]): float(r[2]) for r in table if r[2] != "—"}
    for (rows, tool), peer in (
        ((full, "datawheel-stratified"), (full, "sklearn-StratifiedShuffleSplit")),
        ((table[-2][0], "datawheel-group"), (table[-1][0], TOOLS[3])),
    ):
        if (rows, tool) in timed and peer in timed:
            print(f"{tool} vs {peer[1]} at {rows} rows: {timed[peer] / timed[(rows, tool)]:.1f}x faster")


if __name__ == "__main__":
    main()
