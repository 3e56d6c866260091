"""Counts before rows: how many rows of each stratum each split gets, and seeded random orders.

Everything here works on small count arrays (strata x splits) or on whole columns with NumPy,
never with a Python loop over rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["allocate", "allocate_strata", "assign_by_rank", "mix64", "uniform", "waterfill"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
_EPS = 1e-9


def mix64(values: U64, seed: int) -> U64:
    """SplitMix64 of ``values`` mixed with a seed: a fixed, portable 64-bit hash (same on every machine).

    Example:
        >>> values = np.arange(2, dtype=np.uint64)
        >>> mix64(values, 0).tolist() == mix64(values, 1).tolist()
        False
    """
    key = np.asarray(values, dtype=np.uint64) ^ np.full(1, _mix_int(seed), dtype=np.uint64)
    key = key + np.uint64(0x9E3779B97F4A7C15)
    key = (key ^ (key >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    key = (key ^ (key >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    out: U64 = key ^ (key >> np.uint64(31))
    return out


def _mix_int(seed: int) -> int:
    mask = 0xFFFFFFFFFFFFFFFF
    z = (seed + 0x9E3779B97F4A7C15) & mask
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return z ^ (z >> 31)


def uniform(hashes: U64) -> F64:
    """64-bit hashes as numbers uniform in [0, 1) (their top 53 bits)."""
    out: F64 = (np.asarray(hashes, dtype=np.uint64) >> np.uint64(11)).astype(np.float64) * 2.0**-53
    return out


def allocate(count: int, ratios: Sequence[float]) -> list[int]:
    """Share ``count`` rows among splits by largest remainder: each gets the floor or ceiling of its quota.

    Each split first gets ``floor(count * ratio)``; the rows left over go one each to the splits
    with the largest fractional remainders, ties to the earlier split.

    Args:
        count: The rows to share.
        ratios: The share of each split (summing to 1).

    Returns:
        The rows of each split, summing to ``count``.

    Example:
        >>> allocate(30, [0.6, 0.2, 0.2]), allocate(70, [0.6, 0.2, 0.2]), allocate(7, [0.5, 0.5])
        ([18, 6, 6], [42, 14, 14], [4, 3])
    """
    out = allocate_strata(np.array([count], dtype=np.int64), np.asarray(ratios, dtype=np.float64))
    return [int(v) for v in out[0]]


def allocate_strata(counts: I64, ratios: F64) -> I64:
    """Rows of each stratum in each split: largest remainder per stratum, kept near the targets overall.

    Per stratum of ``n`` rows, split ``k`` gets ``floor(n * r_k)`` and the leftover rows go one
    each to the splits with the largest remainders ``n * r_k - floor(n * r_k)``, so every count is
    the floor or the ceiling of its exact quota. Where the remainders tie, and for a stratum with
    fewer rows than splits (which cannot be in every split), the choice among the splits with a
    positive remainder goes to the split furthest below its whole-table target so far (strata
    taken from largest to smallest, then the earlier split): rare classes are spread over the
    splits instead of all landing in the first.

    Args:
        counts: Rows per stratum.
        ratios: The share of each split (summing to 1).

    Returns:
        A strata x splits array of row counts whose rows sum to ``counts``.

    Example:
        >>> allocate_strata(np.array([30, 70, 1, 1]), np.array([0.6, 0.2, 0.2])).tolist()
        [[18, 6, 6], [42, 14, 14], [1, 0, 0], [0, 1, 0]]
    """
    counts = np.asarray(counts, dtype=np.int64)
    quotas = counts[:, None] * ratios[None, :]
    base = np.floor(quotas + _EPS).astype(np.int64)
    rem = np.clip(quotas - base, 0.0, None)
    rem[rem < _EPS] = 0.0
    extra = counts - base.sum(axis=1)
    out = base.copy()
    rounded = np.round(rem, 9)
    order = np.argsort(-rounded, axis=1, kind="stable")
    top = np.take_along_axis(rounded, order, axis=1)
    k, rows = ratios.size, np.arange(counts.size)
    cut = np.clip(extra, 1, k - 1)  # 1..k-1 leftover rows whenever there are any
    tied = top[rows, cut - 1] == top[rows, np.minimum(cut, k - 1)]
    open_choice = (extra > 0) & (tied | (counts < k))
    settled = ~open_choice & (extra > 0)
    ranks = np.argsort(order, axis=1)
    out[settled] += (ranks[settled] < extra[settled, None]).astype(np.int64)
    pending = np.flatnonzero(open_choice)
    if pending.size:
        pending = pending[np.argsort(-counts[pending], kind="stable")]
        _settle_by_deficit(out, quotas, rounded, extra, pending, small=counts[pending] < k)
    return out


def _settle_by_deficit(
    out: I64, quotas: F64, rounded: F64, extra: I64, pending: I64, *, small: npt.NDArray[np.bool_]
) -> None:
    """Give the leftover rows of ``pending`` strata, in order, to the splits furthest behind overall."""
    done = np.ones(out.shape[0], dtype=bool)
    done[pending] = False
    target = quotas[done].sum(axis=0)
    have = out[done].sum(axis=0).astype(np.float64)
    for s, tiny in zip(pending.tolist(), small.tolist(), strict=True):
        target += quotas[s]
        have += out[s]
        row, need = rounded[s], int(extra[s])
        if need == 0:
            continue
        # the largest remainders are taken for sure; only the tied ones (or all, for tiny strata) are open
        candidates = np.flatnonzero(row > 0)
        if not tiny:
            ordered = candidates[np.argsort(-row[candidates], kind="stable")]
            edge = row[ordered[need - 1]]
            sure = ordered[row[ordered] > edge]
            out[s, sure] += 1
            have[sure] += 1
            need -= sure.size
            candidates = ordered[row[ordered] == edge]
        deficit = target[candidates] - have[candidates]
        chosen = candidates[np.argsort(-deficit, kind="stable")[:need]]
        out[s, chosen] += 1
        have[chosen] += 1


def assign_by_rank(strata: I64, keys: U64 | int, counts: I64) -> npt.NDArray[np.int8]:
    """Each row's split: rows of a stratum in ``keys`` order fill split 0's count, then split 1's, and so on.

    Args:
        strata: Each row's stratum code, in ``0..S-1``.
        keys: Each row's random key (ties fall back to row order), or a seed: rows then take the
            order of a seeded random permutation (NumPy PCG64), sorted by stratum with a radix sort.
        counts: Strata x splits row counts, as :func:`allocate_strata` gives.

    Returns:
        Each row's split index.

    Example:
        >>> strata = np.array([0, 0, 0, 1, 1])
        >>> keys = np.array([3, 1, 2, 5, 4], dtype=np.uint64)
        >>> assign_by_rank(strata, keys, np.array([[2, 1], [1, 1]])).tolist()
        [1, 0, 0, 1, 0]
    """
    order = _stratum_order(strata, keys, counts.shape[0])
    sizes = np.bincount(strata, minlength=counts.shape[0])
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    rank = np.empty(strata.size, dtype=np.int64)
    rank[order] = np.arange(strata.size, dtype=np.int64) - np.repeat(starts, sizes)
    bounds = np.cumsum(counts, axis=1)[:, :-1]
    split = np.zeros(strata.size, dtype=np.int8)
    for k in range(bounds.shape[1]):
        split += (rank >= bounds[strata, k]).astype(np.int8)
    return split


def _stratum_order(strata: I64, keys: U64 | int, n_strata: int) -> I64:
    """Row positions grouped by stratum, in random order within each."""
    if isinstance(keys, int):
        perm = np.random.default_rng(keys).permutation(strata.size)
        if n_strata <= 1 << 16:
            within: I64 = perm[np.argsort(strata[perm].astype(np.uint16), kind="stable")]
            return within
        return perm[np.argsort(strata[perm], kind="stable")]
    out: I64 = np.lexsort((keys, strata))
    return out


def waterfill(desired: F64, count: int, tiebreak: F64) -> I64:
    """Share ``count`` items so the splits' remaining desires end as even as possible.

    This is what giving items one at a time to the split of largest remaining desire ends with
    (Sechidis et al.'s greedy step), computed at once: levels ``desired - a`` are equalised from
    the top, then rounded by largest remainder (ties to the larger ``tiebreak``).

    Example:
        >>> waterfill(np.array([5.0, 1.0, 1.0]), 6, np.zeros(3)).tolist()
        [5, 1, 0]
    """
    if count <= 0:
        return np.zeros(desired.size, dtype=np.int64)
    d = np.sort(desired)[::-1]
    sums = np.cumsum(d)
    level = float((sums[-1] - count) / d.size)
    for j in range(1, d.size + 1):
        t = (sums[j - 1] - count) / j
        if j == d.size or t >= d[j]:
            level = float(t)
            break
    share = np.clip(desired - level, 0.0, None)
    share *= count / share.sum()
    base = np.floor(share + _EPS).astype(np.int64)
    rem = share - base
    left = count - int(base.sum())
    order = np.lexsort((-tiebreak, -np.round(rem, 9)))
    base[order[:left]] += 1
    return base
