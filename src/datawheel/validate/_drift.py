"""Drift between two profiles, column by column, with distances that stay meaningful at large n.

Numbers (and times) are binned at the reference's deciles; categories are compared value by
value. For each column the report keeps the bins, both sides' shares, and the formula, so a
value can be recomputed by hand:

- PSI = Σᵢ (cᵢ - rᵢ) · ln(cᵢ / rᵢ), shares floored at ``EPSILON`` (numbers; default 0.2)
- Jensen-Shannon distance = √(½ KL(r‖m) + ½ KL(c‖m)), m = (r + c) / 2, log base 2, in [0, 1]
- normalised Wasserstein = mean over 99 ranks u of |Q_c(u) - Q_r(u)|, divided by the reference's
  standard deviation (numbers)
- L-infinity = maxᵢ |cᵢ - rᵢ| (categories, booleans; default 0.1)

Optional tests (``tests=True``): two-sample Kolmogorov-Smirnov for numbers (D from the KLL
sketches' CDFs; p from the asymptotic distribution, as ``scipy.stats.ks_2samp(method="asymp")``)
and chi-squared for categories, with Holm or Benjamini-Hochberg correction over the columns.
Whether a column drifted is decided by its distance and threshold; p-values are reported beside
it, because at large n they flag every column.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

from datawheel.errors import ValidationError
from datawheel.validate._profile import ColumnProfile, Profile, profile

Metric = Literal["psi", "js", "wasserstein", "linf"]
Correction = Literal["holm", "bh", "none"]

EPSILON = 1e-4
DEFAULTS: dict[str, tuple[Metric, float]] = {
    "number": ("psi", 0.2),
    "datetime": ("psi", 0.2),
    "text": ("psi", 0.2),
    "category": ("linf", 0.1),
}
FORMULAS: dict[str, str] = {
    "psi": "PSI = Σ (c_i - r_i) · ln(c_i / r_i), shares floored at 1e-4",
    "js": "JS = √(½ KL(r‖m) + ½ KL(c‖m)), m = (r + c)/2, log base 2",
    "wasserstein": "W = mean_u |Q_c(u) - Q_r(u)| / std_r, u = 0.01 … 0.99",
    "linf": "L∞ = max_i |c_i - r_i|",
}


@dataclass(frozen=True)
class ColumnDrift:
    """How one column moved: the deciding metric and threshold, every distance, the bins."""

    column: str
    kind: Literal["number", "datetime", "text", "category"]
    metric: Metric
    value: float
    threshold: float
    distances: dict[str, float]
    bins: list[str]
    reference: list[float]
    current: list[float]
    test: str | None = None
    statistic: float | None = None
    p_value: float | None = None
    p_adjusted: float | None = None

    @property
    def drifted(self) -> bool:
        """Whether the deciding distance passed its threshold."""
        return self.value > self.threshold

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape: ``metric``, ``value``, ``threshold``, ``drifted``, distances, bins, formula."""
        return {
            "metric": self.metric,
            "value": self.value,
            "threshold": self.threshold,
            "drifted": self.drifted,
            "kind": self.kind,
            "distances": self.distances,
            "formula": FORMULAS[self.metric],
            "bins": [
                {"bin": b, "reference": r, "current": c}
                for b, r, c in zip(self.bins, self.reference, self.current, strict=True)
            ],
            "test": self.test,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "p_adjusted": self.p_adjusted,
        }


@dataclass(frozen=True)
class DriftReport:
    """Drift of every column both profiles share; ``missing`` lists reference columns the current lacks."""

    reference_rows: int
    current_rows: int
    columns: dict[str, ColumnDrift]
    missing: list[str] = field(default_factory=list)
    correction: Correction = "holm"

    @property
    def drifted(self) -> list[str]:
        """Names of the columns that drifted."""
        return [name for name, c in self.columns.items() if c.drifted]

    def to_dict(self) -> dict[str, Any]:
        """The stable ``--json`` shape: ``drifted`` (names) and ``columns`` (an object per column)."""
        return {
            "drifted": self.drifted,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "missing": self.missing,
            "correction": self.correction,
            "columns": {name: c.to_dict() for name, c in self.columns.items()},
        }


def compare_profiles(
    reference: Profile,
    current: Profile,
    *,
    thresholds: dict[str, dict[str, Any]] | None = None,
    tests: bool = False,
    correction: Correction = "holm",
) -> DriftReport:
    """Compare ``current`` with ``reference``, column by column.

    Args:
        reference: The profile to compare against (e.g. training data).
        current: The profile of the new data (e.g. serving data, a new batch).
        thresholds: Per column ``{"metric": "psi"|"js"|"wasserstein"|"linf", "threshold": x}``
            (a contract's :meth:`~datawheel.validate.Contract.thresholds`); else the defaults:
            PSI > 0.2 for numbers, times and text lengths, L∞ > 0.1 for categories.
        tests: Also run KS (numbers) and chi-squared (categories) tests.
        correction: Multiple-test correction of the p-values: ``holm``, ``bh`` or ``none``.

    Example:
        >>> a = profile(pl.DataFrame({"x": [float(i) for i in range(1000)]}))
        >>> b = profile(pl.DataFrame({"x": [float(i) + 300 for i in range(1000)]}))
        >>> report = compare_profiles(a, b)
        >>> report.drifted, report.columns["x"].metric
        (['x'], 'psi')
    """
    if reference.rows == 0:
        raise ValidationError("the reference has no rows", hint="compare against a non-empty version")
    settings = thresholds or {}
    columns = {}
    for name, ref in reference.columns.items():
        cur = current.columns.get(name)
        if cur is None or ref.kind == "other" or ref.values == 0:
            continue
        columns[name] = _column_drift(ref, cur, settings.get(name), tests=tests)
    missing = [n for n in reference.columns if n not in current.columns]
    return DriftReport(reference.rows, current.rows, _corrected(columns, correction), missing, correction)


def compare_slices(
    reference: pl.DataFrame,
    current: pl.DataFrame,
    *,
    by: str,
    thresholds: dict[str, dict[str, Any]] | None = None,
) -> dict[str, DriftReport]:
    """Drift per slice: rows of each value of ``by`` compared with the reference's rows of that value.

    A slice the current data has and the reference lacks is compared with the whole reference.

    Example:
        >>> ref = pl.DataFrame({"g": ["a", "b"] * 50, "x": [float(i % 10) for i in range(100)]})
        >>> cur = ref.with_columns(pl.when(pl.col("g") == "b").then(pl.col("x") + 20).otherwise("x"))
        >>> {k: r.drifted for k, r in compare_slices(ref, cur, by="g").items()}
        {'a': [], 'b': ['x']}
    """
    for frame, what in ((reference, "reference"), (current, "current")):
        if by not in frame.columns:
            raise ValidationError(f"no column '{by}' in the {what} data", hint="check --by")
    whole = profile(reference.drop(by))
    out = {}
    for key, part in sorted(current.partition_by(by, as_dict=True).items(), key=lambda kv: str(kv[0])):
        value = key[0]
        ref_part = (
            reference.filter(pl.col(by) == value)
            if value is not None
            else reference.filter(pl.col(by).is_null())
        )
        base = profile(ref_part.drop(by)) if ref_part.height else whole
        out[str(value)] = compare_profiles(base, profile(part.drop(by)), thresholds=thresholds)
    return out


def psi(reference: Sequence[float], current: Sequence[float]) -> float:
    """Population stability index of two share vectors (floored at ``EPSILON``).

    Example:
        >>> round(psi([0.5, 0.5], [0.6, 0.4]), 6)
        0.040547
    """
    r, c = _floor(reference), _floor(current)
    return float(np.sum((c - r) * np.log(c / r)))


def jensen_shannon(reference: Sequence[float], current: Sequence[float]) -> float:
    """Jensen-Shannon distance (log base 2, in [0, 1]) of two share vectors.

    Example:
        >>> jensen_shannon([1.0, 0.0], [0.0, 1.0])
        1.0
    """
    r, c = np.asarray(reference, dtype=float), np.asarray(current, dtype=float)
    m = (r + c) / 2

    def kl(p: np.ndarray) -> float:
        mask = p > 0
        return float(np.sum(p[mask] * np.log2(p[mask] / m[mask])))

    return math.sqrt(max(0.0, (kl(r) + kl(c)) / 2))


def l_infinity(reference: Sequence[float], current: Sequence[float]) -> float:
    """The largest difference of shares.

    Example:
        >>> l_infinity([0.5, 0.3, 0.2], [0.4, 0.3, 0.3])
        0.1
    """
    return round(float(np.max(np.abs(np.asarray(current) - np.asarray(reference)))), 12)


def correct(p_values: Sequence[float], method: Correction) -> list[float]:
    """Adjusted p-values: Holm (step-down) or Benjamini-Hochberg (step-up), or unchanged.

    Example:
        >>> correct([0.01, 0.04, 0.03], "holm"), correct([0.01, 0.04, 0.03], "bh")
        ([0.03, 0.06, 0.06], [0.03, 0.04, 0.04])
    """
    p = np.asarray(p_values, dtype=float)
    n = p.size
    if method == "none" or n == 0:
        return [float(x) for x in p]
    order = np.argsort(p)
    ranked = p[order]
    if method == "holm":
        adjusted = np.maximum.accumulate(ranked * (n - np.arange(n)))
    else:
        adjusted = np.minimum.accumulate((ranked * n / np.arange(1, n + 1))[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(adjusted, 1.0)
    return [round(float(x), 12) for x in out]


def _floor(shares: Sequence[float]) -> np.ndarray:
    out: np.ndarray = np.maximum(np.asarray(shares, dtype=float), EPSILON)
    return out


def _column_drift(
    ref: ColumnProfile, cur: ColumnProfile, setting: dict[str, Any] | None, *, tests: bool
) -> ColumnDrift:
    categorical = ref.kind == "boolean" or (
        ref.kind == "string" and ref.categories is not None and cur.categories is not None
    )
    if categorical:
        kind: Literal["number", "datetime", "text", "category"] = "category"
        bins, r, c = _category_shares(ref, cur)
        distances = {"linf": l_infinity(r, c), "js": jensen_shannon(r, c), "psi": psi(r, c)}
    else:
        kind = "text" if ref.kind == "string" else ref.kind  # type: ignore[assignment]
        bins, r, c = _numeric_shares(ref, cur)
        distances = {"psi": psi(r, c), "js": jensen_shannon(r, c), "wasserstein": _wasserstein(ref, cur)}
    metric, threshold = DEFAULTS[kind]
    if setting:
        metric, threshold = setting.get("metric", metric), float(setting.get("threshold", threshold))
    if metric not in distances:
        raise ValidationError(
            f"column '{ref.name}' ({kind}) has no {metric} distance (it has {', '.join(distances)})",
            hint="pick one of those in the contract's drift rule",
        )
    drift = ColumnDrift(
        ref.name, kind, metric, round(distances[metric], 12), threshold, distances, bins, r, c
    )
    if not tests or cur.values == 0:
        return drift
    test, statistic, p_value = _chi2(ref, cur) if kind == "category" else _ks(ref, cur)
    return ColumnDrift(**{**drift.__dict__, "test": test, "statistic": statistic, "p_value": p_value})


def _category_shares(ref: ColumnProfile, cur: ColumnProfile) -> tuple[list[str], list[float], list[float]]:
    a, b = ref.categories or {}, cur.categories or {}
    keys = sorted({*a, *b}, key=lambda k: (-a.get(k, 0), str(k)))
    ta, tb = sum(a.values()) or 1, sum(b.values()) or 1
    return [str(k) for k in keys], [a.get(k, 0) / ta for k in keys], [b.get(k, 0) / tb for k in keys]


def _edges(ref: ColumnProfile) -> list[float]:
    sketch = ref.values_sketch()
    assert sketch is not None
    inner = sorted(set(sketch.get_quantiles([i / 10 for i in range(1, 10)])))
    return inner


def _numeric_shares(ref: ColumnProfile, cur: ColumnProfile) -> tuple[list[str], list[float], list[float]]:
    edges = _edges(ref)
    r_sketch, c_sketch = ref.values_sketch(), cur.values_sketch()
    assert r_sketch is not None
    r = _pmf(r_sketch, edges)
    c = _pmf(c_sketch, edges) if c_sketch is not None and not c_sketch.is_empty() else [0.0] * len(r)
    bounds = ["-inf", *(f"{e:g}" for e in edges), "inf"]
    labels = [f"[{lo}, {hi})" for lo, hi in itertools.pairwise(bounds)]
    return labels, r, c


def _pmf(sketch: Any, edges: list[float]) -> list[float]:
    if not edges:
        return [1.0]
    return [float(x) for x in sketch.get_pmf(edges)]


def _wasserstein(ref: ColumnProfile, cur: ColumnProfile) -> float:
    r, c = ref.values_sketch(), cur.values_sketch()
    if r is None or c is None or c.is_empty():
        return 0.0
    ranks = [i / 100 for i in range(1, 100)]
    gap = float(np.mean(np.abs(np.array(c.get_quantiles(ranks)) - np.array(r.get_quantiles(ranks)))))
    scale = (
        ref.std if ref.kind != "string" else (math.sqrt(ref.text.length_m2 / ref.values) if ref.text else 0)
    )
    return gap / scale if scale else gap


def _ks(ref: ColumnProfile, cur: ColumnProfile) -> tuple[str, float, float]:
    from scipy.stats import kstwo

    r, c = ref.values_sketch(), cur.values_sketch()
    assert r is not None
    assert c is not None
    grid = [i / 2000 for i in range(2001)]
    points = sorted(set(r.get_quantiles(grid)) | set(c.get_quantiles(grid)))
    d = float(np.max(np.abs(np.array(r.get_cdf(points, True)[:-1]) - np.array(c.get_cdf(points, True)[:-1]))))
    n, m = r.n, c.n
    en = n * m / (n + m)
    return "ks", d, float(kstwo.sf(d, round(en)))


def _chi2(ref: ColumnProfile, cur: ColumnProfile) -> tuple[str, float, float]:
    from scipy.stats import chi2_contingency

    a, b = ref.categories or {}, cur.categories or {}
    keys = [k for k in {*a, *b} if a.get(k, 0) + b.get(k, 0) > 0]
    if len(keys) < 2:
        return "chi2", 0.0, 1.0
    table = np.array([[a.get(k, 0) for k in keys], [b.get(k, 0) for k in keys]])
    result = chi2_contingency(table, correction=False)
    return "chi2", float(result.statistic), float(result.pvalue)


def _corrected(columns: dict[str, ColumnDrift], method: Correction) -> dict[str, ColumnDrift]:
    tested = [name for name, c in columns.items() if c.p_value is not None]
    adjusted = correct([columns[n].p_value or 0.0 for n in tested], method)
    out = dict(columns)
    for name, p in zip(tested, adjusted, strict=True):
        out[name] = ColumnDrift(**{**columns[name].__dict__, "p_adjusted": p})
    return out
