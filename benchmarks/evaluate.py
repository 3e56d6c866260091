"""Slice metrics over 10M predictions, and fairness metrics over 1M rows beside fairlearn's MetricFrame.

    .venv/bin/python benchmarks/evaluate.py                       # 10,000,000 and 1,000,000 rows
    .venv/bin/python benchmarks/evaluate.py --rows 1000000 --fairness-rows 100000

Slices: ``datawheel.evaluate.find_slices`` over three metadata columns (each column and each
pair: 6 group-bys, a binomial test per slice, Benjamini-Hochberg, examples of the worst 10).
Fairness: ``datawheel.evaluate.fairness_metrics`` (selection rate, TPR, FPR, precision, count
per group, parity and equalised odds differences) against fairlearn's ``MetricFrame`` with the
same metrics plus ``demographic_parity_difference`` and ``equalized_odds_difference``; the
numbers are checked equal before the ratio is printed.
"""

from __future__ import annotations

import argparse
import resource
import warnings
from typing import Any

import numpy as np
import polars as pl

from _common import print_table, seconds
from datawheel.evaluate import fairness_metrics, find_slices


def _peak_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_predictions(rows: int, seed: int = 0) -> pl.DataFrame:
    """Binary labels and predictions (90% right), three metadata columns, one failing combination."""
    rng = np.random.default_rng(seed)
    factory = rng.integers(0, 20, rows).astype(np.int32)
    line = rng.integers(0, 50, rows).astype(np.int32)
    device = rng.integers(0, 8, rows).astype(np.int32)
    label = rng.integers(0, 2, rows).astype(np.int8)
    bad = (factory == 3) & (line == 7)
    wrong = rng.random(rows) < np.where(bad, 0.5, 0.1)
    prediction = np.where(wrong, 1 - label, label).astype(np.int8)
    frame = pl.DataFrame({"label": label, "prediction": prediction})
    return frame.with_columns(
        pl.Series("factory", factory).cast(pl.String).cast(pl.Categorical),
        pl.Series("line", line).cast(pl.String).cast(pl.Categorical),
        pl.Series("device", device).cast(pl.String).cast(pl.Categorical),
    )


def bench_slices(rows: int) -> list[str]:
    frame = make_predictions(rows)
    took, report = seconds(
        lambda: find_slices(frame, label="label", prediction="prediction", by=["factory", "line", "device"])
    )
    first = report.slices[0]
    print(
        f"slices: {len(report.slices):,} slices over {rows:,} rows; worst {first.name} "
        f"(accuracy {first.value:.3f} vs {report.overall:.3f} overall)"
    )
    return [f"slices ({rows:,} rows, 3 columns + pairs)", f"{took:.2f}", "-", f"{_peak_mb():,.0f}"]


def _fairlearn(frame: pl.DataFrame) -> dict[str, Any]:
    from fairlearn.metrics import (
        MetricFrame,
        count,
        demographic_parity_difference,
        equalized_odds_difference,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import precision_score

    y, p, g = frame["label"].to_numpy(), frame["prediction"].to_numpy(), frame["group"].to_numpy()
    metrics = {
        "selection_rate": selection_rate,
        "tpr": true_positive_rate,
        "fpr": false_positive_rate,
        "precision": lambda a, b: precision_score(a, b, zero_division=0),
        "count": count,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # pandas deprecations inside fairlearn
        by_group = MetricFrame(metrics=metrics, y_true=y, y_pred=p, sensitive_features=g).by_group
        dpd = demographic_parity_difference(y, p, sensitive_features=g)
        eod = equalized_odds_difference(y, p, sensitive_features=g)
    return {"by_group": by_group, "dpd": dpd, "eod": eod}


def bench_fairness(rows: int) -> list[list[str]]:
    base = make_predictions(rows, seed=1)
    frame = base.with_columns(group=pl.format("g{}", pl.col("device").cast(pl.String)))
    ours_s, ours = seconds(
        lambda: fairness_metrics(frame, label="label", prediction="prediction", group="group")
    )
    ours_mb = _peak_mb()
    theirs_s, theirs = seconds(lambda: _fairlearn(frame))
    theirs_mb = _peak_mb()
    groups = ours.to_dict()["groups"]
    for name, row in theirs["by_group"].iterrows():
        for metric in ("selection_rate", "tpr", "fpr", "precision", "count"):
            assert abs(groups[name][metric] - row[metric]) < 1e-12, (name, metric)
    assert abs(ours.demographic_parity_difference - theirs["dpd"]) < 1e-12
    assert abs(ours.equalized_odds_difference - theirs["eod"]) < 1e-12
    print(f"fairness: {len(groups)} groups over {rows:,} rows; numbers equal fairlearn's")
    ratio = theirs_s / ours_s
    return [
        [f"fairness datawheel ({rows:,} rows)", f"{ours_s:.3f}", f"{ratio:,.0f}x", f"{ours_mb:,.0f}"],
        [f"fairness fairlearn MetricFrame ({rows:,} rows)", f"{theirs_s:.3f}", "1x", f"{theirs_mb:,.0f}"],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="predictions for the slice benchmark")
    parser.add_argument(
        "--fairness-rows", type=int, default=1_000_000, help="rows for the fairness benchmark"
    )
    args = parser.parse_args()
    table = bench_fairness(args.fairness_rows)
    table.append(bench_slices(args.rows))
    print()
    print_table(["task", "seconds", "speed-up vs fairlearn", "peak RSS so far (MB)"], table)


if __name__ == "__main__":
    main()
