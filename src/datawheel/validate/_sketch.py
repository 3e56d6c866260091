"""Mergeable sketches fed with whole arrays: HyperLogLog registers, and helpers over DataSketches.

Quantiles use Apache DataSketches' KLL (``kll_doubles_sketch``, fed a NumPy array at once) and
frequent values its ``frequent_strings_sketch`` (fed each batch's counted values with weights).
Distinct counts use a HyperLogLog written here with NumPy: DataSketches' ``hll_sketch`` takes one
Python value per call (about 110 ns each, 0.1-0.5 s per million-row column, measured), while
hashing a whole column with a stable 64-bit hash and updating 4,096 registers at once costs a
few milliseconds. Registers merge by element-wise maximum, so profiles of batches still merge.

Hashes are stable across processes and versions: strings use XXH3-64 (``polars-hash``), numbers
the SplitMix64 finaliser of their float64 bits, so ``3`` and ``3.0`` count as one value.
"""

from __future__ import annotations

import base64
import itertools
import math

import datasketches as ds
import numpy as np
import polars as pl
import polars_hash as plh

HLL_P = 12
"""log2 of the number of HyperLogLog registers (4,096: about 1.6 % standard error)."""

KLL_K = 200
"""The KLL sketch's accuracy parameter (about 1.65 % normalised rank error)."""

_M = 1 << HLL_P
_LOW = (1 << (64 - HLL_P)) - 1


def hash_values(series: pl.Series) -> np.ndarray:
    """Stable 64-bit hashes of the non-null values of ``series`` (strings by content, others as float64).

    Example:
        >>> a = hash_values(pl.Series([3, None, 4]))
        >>> b = hash_values(pl.Series([3.0, 4.0]))
        >>> bool((a == b).all()), a.dtype
        (True, dtype('uint64'))
    """
    values = series.drop_nulls()
    if values.dtype == pl.String or values.dtype == pl.Categorical or values.dtype == pl.Enum:
        frame = pl.DataFrame({"v": values.cast(pl.String)})
        return frame.select(plh.col("v").nchash.xxh3_64())["v"].to_numpy()
    return mix64(numbers(values))


def numbers(series: pl.Series) -> np.ndarray:
    """The non-null values of a numeric, boolean or temporal series as float64 (times in epoch seconds)."""
    values = series.drop_nulls()
    if values.dtype.is_temporal():
        values = values.dt.epoch("ms").cast(pl.Float64) / 1000.0
    out: np.ndarray = values.cast(pl.Float64).to_numpy()
    return out


def mix64(values: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser over the bits of float64 values (``-0.0`` counted as ``0.0``)."""
    bits = (values.astype(np.float64) + 0.0).view(np.uint64)
    with np.errstate(over="ignore"):
        z = bits + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    out: np.ndarray = z ^ (z >> np.uint64(31))
    return out


def hll_registers(hashes: np.ndarray) -> np.ndarray:
    """HyperLogLog registers (``uint8``, 2**HLL_P of them) of 64-bit hashes."""
    registers = np.zeros(_M, dtype=np.uint8)
    if hashes.size == 0:
        return registers
    index = (hashes >> np.uint64(64 - HLL_P)).astype(np.int64)
    rest = (hashes & np.uint64(_LOW)).astype(np.float64)  # < 2**52: exact in float64
    _, exponent = np.frexp(rest)
    rank = np.where(rest > 0, (64 - HLL_P) - (exponent - 1), 64 - HLL_P + 1).astype(np.uint8)
    np.maximum.at(registers, index, rank)
    return registers


def hll_estimate(registers: np.ndarray) -> int:
    """The distinct count HyperLogLog registers estimate (linear counting when small).

    Example:
        >>> regs = hll_registers(hash_values(pl.Series(range(10_000))))
        >>> abs(hll_estimate(regs) - 10_000) < 500
        True
    """
    m = float(_M)
    alpha = 0.7213 / (1 + 1.079 / m)
    raw = alpha * m * m / float(np.sum(np.ldexp(1.0, -registers.astype(np.int64))))
    zeros = int(np.count_nonzero(registers == 0))
    if raw <= 2.5 * m and zeros:
        return round(m * math.log(m / zeros))
    return round(raw)


def kll_of(values: np.ndarray) -> ds.kll_doubles_sketch:
    """A KLL sketch of float64 values."""
    sketch = ds.kll_doubles_sketch(KLL_K)
    if values.size:
        sketch.update(np.require(values, np.float64, ["C", "W"]))
    return sketch


def kll_merged(a: ds.kll_doubles_sketch, b: ds.kll_doubles_sketch) -> ds.kll_doubles_sketch:
    """A new KLL sketch of both streams (neither input changes)."""
    out = ds.kll_doubles_sketch.deserialize(a.serialize())
    out.merge(b)
    return out


def frequent_of(counts: dict[str, int]) -> ds.frequent_strings_sketch:
    """A frequent-items sketch fed ``value -> count`` (one weighted update per value)."""
    sketch = ds.frequent_strings_sketch(FREQUENT_LG_K)
    for value, count in counts.items():
        sketch.update(value, count)
    return sketch


FREQUENT_LG_K = 7
"""log2 of the frequent-items sketch's map size (128 slots)."""


def frequent_merged(
    a: ds.frequent_strings_sketch, b: ds.frequent_strings_sketch
) -> ds.frequent_strings_sketch:
    """A new frequent-items sketch of both streams."""
    out = ds.frequent_strings_sketch.deserialize(a.serialize())
    out.merge(b)
    return out


def encode(data: bytes) -> str:
    """Bytes as ASCII (base64) for JSON."""
    return base64.b64encode(data).decode("ascii")


def decode(text: str) -> bytes:
    """The bytes :func:`encode` wrote."""
    return base64.b64decode(text.encode("ascii"))


class ExactQuantiles:
    """Quantiles, ranks, CDF and PMF of exactly counted values, with the KLL sketch's methods.

    Used where a profile kept exact value counts, so small columns get exact, repeatable numbers.

    Example:
        >>> q = ExactQuantiles({1.0: 1, 2.0: 1, 4.0: 2})
        >>> q.get_quantile(0.5), q.get_rank(4.0), q.get_pmf([2.0]), q.n
        (4.0, 0.5, [0.25, 0.75], 4)
    """

    def __init__(self, counts: dict[float, int]) -> None:
        keys = sorted(counts)
        self.values = np.array(keys, dtype=np.float64)
        self.cumulative = np.cumsum([counts[k] for k in keys]).astype(np.int64)
        self.n = int(self.cumulative[-1]) if keys else 0

    def is_empty(self) -> bool:
        """Whether no value was counted."""
        return self.n == 0

    def get_min_value(self) -> float:
        """The smallest value."""
        return float(self.values[0])

    def get_max_value(self) -> float:
        """The largest value."""
        return float(self.values[-1])

    def get_rank(self, value: float, inclusive: bool = False) -> float:
        """The share of values below ``value`` (or at most ``value`` if ``inclusive``)."""
        index = int(np.searchsorted(self.values, value, side="right" if inclusive else "left"))
        return float(self.cumulative[index - 1]) / self.n if index else 0.0

    def get_quantile(self, rank: float, inclusive: bool = False) -> float:
        """The value at normalised ``rank`` (0-based position ``rank·n``, as KLL's exclusive quantile)."""
        position = math.ceil(rank * self.n) - 1 if inclusive else math.floor(rank * self.n)
        position = min(max(position, 0), self.n - 1)
        return float(self.values[int(np.searchsorted(self.cumulative, position, side="right"))])

    def get_quantiles(self, ranks: list[float], inclusive: bool = False) -> list[float]:
        """:meth:`get_quantile` of each rank."""
        return [self.get_quantile(r, inclusive) for r in ranks]

    def get_cdf(self, split_points: list[float], inclusive: bool = False) -> list[float]:
        """Ranks of the split points, then 1.0."""
        return [self.get_rank(x, inclusive) for x in split_points] + [1.0]

    def get_pmf(self, split_points: list[float], inclusive: bool = False) -> list[float]:
        """Shares of the intervals the split points make."""
        cdf = self.get_cdf(split_points, inclusive)
        return [cdf[0]] + [b - a for a, b in itertools.pairwise(cdf)]
