"""Label quality at scale: agreement and Dawid-Skene on 1,000,000 annotations; label issues on 100,000 rows.

Run: ``.venv/bin/python benchmarks/label_quality.py [--items 100000] [--annotators 10]``

Peers on the same data, in the same run: the ``krippendorff`` package (alpha, from its
annotators x items reliability matrix) and scikit-learn's ``cohen_kappa_score`` (every pair).
Label issues: cleanlab on given probabilities, and with datawheel's out-of-fold baseline.
"""

from __future__ import annotations

import argparse
import itertools
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import polars as pl

from _common import print_table, seconds
from datawheel.label import aggregate, agreement, krippendorff_alpha, label_issues

T = TypeVar("T")


def _rss() -> int:
    statm = Path("/proc/self/statm").read_text(encoding="ascii")  # Linux: resident pages
    return int(statm.split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measured(fn: Callable[[], T]) -> tuple[float, float, T]:
    """Seconds, peak resident memory above the start (MiB, sampled every 5 ms), and the result.

    Resident memory counts what Polars and NumPy allocate outside Python's allocator too.
    """
    start, peak, done = _rss(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss())
            time.sleep(0.005)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    try:
        took, out = seconds(fn)
    finally:
        done.set()
        watcher.join()
    return took, max(peak[0], _rss()) / 2**20 - start / 2**20, out


def crowd(
    items: int, annotators: int, classes: int, seed: int
) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """Every annotator labels every item; accuracies spread from 0.9 down to 0.55."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, classes, items)
    accuracies = np.linspace(0.9, 0.55, annotators)
    right = rng.random((annotators, items)) < accuracies[:, None]
    wrong = (truth + rng.integers(1, classes, (annotators, items))) % classes
    matrix = np.where(right, truth, wrong)
    frame = pl.DataFrame(
        {
            "item": np.tile(np.arange(items), annotators),
            "annotator": np.repeat(np.arange(annotators), items),
            "label": matrix.ravel(),
        }
    )
    return frame, matrix, truth


def ratio(peer: float, ours: float) -> str:
    """How many times faster datawheel is (above 1) or slower (below 1)."""
    return f"{peer / ours:.2f}x" if ours > 0 else "n/a"


def alpha_only(frame: pl.DataFrame, classes: int) -> float:
    """Krippendorff's alpha the way a user would call it: votes per item and class, then alpha."""
    items = int(frame["item"].max()) + 1  # type: ignore[arg-type]
    flat = np.bincount(
        frame["item"].to_numpy() * classes + frame["label"].to_numpy(), minlength=items * classes
    )
    return krippendorff_alpha(flat.reshape(items, classes).astype(np.float64))


def sklearn_pairs(matrix: np.ndarray) -> list[float]:
    from sklearn.metrics import cohen_kappa_score

    return [
        float(cohen_kappa_score(matrix[a], matrix[b]))
        for a, b in itertools.combinations(range(len(matrix)), 2)
    ]


def issues_data(rows: int, seed: int) -> tuple[pl.DataFrame, np.ndarray]:
    """Two-class table rows with 10% of labels flipped, and well-calibrated probabilities."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4))
    truth = (x @ np.array([1.5, -1.0, 0.5, 0.0]) + rng.normal(0, 0.5, rows) > 0).astype(int)
    flipped = rng.random(rows) < 0.10
    labels = np.where(flipped, 1 - truth, truth)
    frame = pl.DataFrame({"label": labels, **{f"x{i}": x[:, i] for i in range(4)}})
    p1 = 1 / (1 + np.exp(-(x @ np.array([1.5, -1.0, 0.5, 0.0])) * 2))
    return frame, np.column_stack([1 - p1, p1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--annotators", type=int, default=10)
    parser.add_argument("--classes", type=int, default=4)
    parser.add_argument("--issue-rows", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=1, help="OpenMP threads of the baseline")
    args = parser.parse_args()
    frame, matrix, truth = crowd(args.items, args.annotators, args.classes, seed=0)
    shape = f"{args.items:,} items x {args.annotators} annotators, {args.classes} classes"
    print(f"{frame.height:,} annotations: {shape}")

    rows: list[list[str]] = []
    t_ours, m_ours, ours = measured(lambda: agreement(frame))
    import krippendorff

    t_kr, m_kr, alpha = measured(
        lambda: krippendorff.alpha(reliability_data=matrix.astype(float), level_of_measurement="nominal")
    )
    rows.append(["agreement (all: alpha, Fleiss, Cohen pairs)", f"{t_ours:.2f}", f"{m_ours:.0f}", "", "", ""])
    t_alpha, m_alpha, only = measured(lambda: alpha_only(frame, args.classes))
    rows.append(
        [
            "  alpha alone, from counts",
            f"{t_alpha:.3f}",
            f"{m_alpha:.0f}",
            f"{t_kr:.3f}",
            f"{m_kr:.0f}",
            ratio(t_kr, t_alpha),
        ]
    )
    t_sk, m_sk, kappas = measured(lambda: sklearn_pairs(matrix))
    rows.append(["  Cohen pairs vs sklearn", "", "", f"{t_sk:.2f}", f"{m_sk:.0f}", ratio(t_sk, t_ours)])
    assert abs(ours.krippendorff_alpha - alpha) < 1e-9
    assert abs(only - alpha) < 1e-9
    assert np.allclose(ours.cohen_kappa["kappa"].to_numpy(), kappas)

    t_mv, m_mv, mv = measured(lambda: aggregate(frame, method="majority"))
    t_ds, m_ds, ds = measured(lambda: aggregate(frame, method="dawid-skene"))
    accuracy: dict[str, Any] = {
        "majority": (mv.labels["label"].to_numpy() == truth).mean(),
        "dawid-skene": (ds.labels["label"].to_numpy() == truth).mean(),
    }
    rows.append(
        [f"majority vote (accuracy {accuracy['majority']:.4f})", f"{t_mv:.2f}", f"{m_mv:.0f}", "", "", ""]
    )
    rows.append(
        [
            f"Dawid-Skene, {ds.iterations} rounds (accuracy {accuracy['dawid-skene']:.4f})",
            f"{t_ds:.2f}",
            f"{m_ds:.0f}",
            "",
            "",
            "",
        ]
    )

    table, probs = issues_data(args.issue_rows, seed=1)
    t_given, m_given, found = measured(lambda: label_issues(table, label="label", probabilities=probs))
    rows.append(
        [
            f"label issues, given probabilities ({table.height:,} rows, {found.issues.height:,} found)",
            f"{t_given:.2f}",
            f"{m_given:.0f}",
            "",
            "",
            "",
        ]
    )
    features = [f"x{i}" for i in range(4)]
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    with threadpool_limits(args.threads):  # gradient boosting's OpenMP threads on a shared machine
        t_oof, m_oof, found_oof = measured(lambda: label_issues(table, label="label", features=features))
    rows.append(
        [
            f"label issues, baseline OOF, 5 folds ({found_oof.issues.height:,} found)",
            f"{t_oof:.2f}",
            f"{m_oof:.0f}",
            "",
            "",
            "",
        ]
    )
    print_table(["what", "datawheel s", "peak MiB", "peer s", "peer MiB", "peer s / datawheel s"], rows)


if __name__ == "__main__":
    main()
