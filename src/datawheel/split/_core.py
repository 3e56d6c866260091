"""The split algorithms on plain arrays: stratum codes in, one split index per row out.

Frames and sklearn-style splitters both end here. Nothing loops over rows in Python: rows are
ordered with seeded hashes and cut by counts (:mod:`._allocate`); the only loops are over
strata, labels, splits, and the few largest groups.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

from datawheel.split._allocate import (
    F64,
    I64,
    U64,
    allocate_strata,
    assign_by_rank,
    mix64,
    uniform,
    waterfill,
)

__all__ = ["group_assign", "multilabel_assign", "stable_assign", "stratified_assign"]

I8 = npt.NDArray[np.int8]
B = npt.NDArray[np.bool_]
_GREEDY_GROUPS = 20_000  # the largest groups placed one by one; the rest by cumulative size


def stratified_assign(strata: I64, ratios: F64, seed: int) -> tuple[I8, I64]:
    """Exact stratified split: per-stratum largest-remainder counts, rows in a seeded random order.

    Returns:
        Each row's split and the strata x splits counts.

    Example:
        >>> split, counts = stratified_assign(np.repeat([0, 1], [30, 70]), np.array([0.6, 0.2, 0.2]), 7)
        >>> counts.tolist(), np.bincount(split[:30]).tolist()
        ([[18, 6, 6], [42, 14, 14]], [18, 6, 6])
    """
    sizes = np.bincount(strata, minlength=int(strata.max()) + 1 if strata.size else 0)
    counts = allocate_strata(sizes, ratios)
    return assign_by_rank(strata, seed, counts), counts


def stable_assign(hashes: U64, ratios: F64) -> I8:
    """Each row's split from its own hash alone: ``u = hash / 2**64``, split k when ``u`` falls in k's share.

    Example:
        >>> stable_assign(np.array([0, 2**63, 2**64 - 1], dtype=np.uint64), np.array([0.5, 0.5])).tolist()
        [0, 1, 1]
    """
    bounds = np.cumsum(ratios)[:-1]
    out: I8 = np.searchsorted(bounds, uniform(hashes), side="right").astype(np.int8)
    return out


def group_assign(groups: I64, strata: I64, ratios: F64, seed: int) -> I8:
    """All rows of a group in one split, each stratum's rows as near its ratios as the groups allow.

    Each group counts in its majority stratum. The largest groups (up to 20,000, largest first)
    go one by one to the split with the largest remaining deficit of rows in that stratum (ties:
    the split furthest below its whole-table target). The remaining groups of each stratum are
    put in seeded random order and cut by cumulative size at the remaining targets: a group goes
    to the split in whose share its middle row falls, so each split misses its target by at most
    half a group at each cut.

    Example:
        >>> groups = np.repeat(np.arange(10), 10)
        >>> split = group_assign(groups, np.zeros(100, dtype=np.int64), np.array([0.6, 0.2, 0.2]), 0)
        >>> np.bincount(split).tolist(), len({(g, s) for g, s in zip(groups, split)})
        ([60, 20, 20], 10)
    """
    n_groups = int(groups.max()) + 1 if groups.size else 0
    sizes = np.bincount(groups, minlength=n_groups)
    major = _majority(groups, strata, n_groups)
    n_strata = int(major.max()) + 1 if n_groups else 0
    weight = np.bincount(major, weights=sizes, minlength=n_strata)
    target = weight[:, None] * ratios[None, :]
    placed = np.zeros_like(target)
    split_of = np.full(n_groups, -1, dtype=np.int8)
    by_size = np.argsort(-sizes, kind="stable")[: min(n_groups, _GREEDY_GROUPS)]
    big = by_size[sizes[by_size] > np.maximum(1.0, 0.002 * weight[major[by_size]])]
    overall_target = weight.sum() * ratios
    overall = np.zeros_like(ratios)
    for g in big.tolist():
        s = major[g]
        deficit = target[s] - placed[s]
        best = np.flatnonzero(deficit >= deficit.max() - 1e-9)
        k = best[np.argmax((overall_target - overall)[best])]
        split_of[g] = k
        placed[s, k] += sizes[g]
        overall[k] += sizes[g]
    rest = np.flatnonzero(split_of < 0)
    if rest.size:
        split_of[rest] = _cut_by_size(rest, major, sizes, target - placed, seed)
    out: I8 = split_of[groups]
    return out


def _majority(groups: I64, strata: I64, n_groups: int) -> I64:
    """Each group's most frequent stratum (ties: the smaller code)."""
    if n_groups == 0 or int(strata.max()) == 0:
        return np.zeros(n_groups, dtype=np.int64)
    n_strata = int(strata.max()) + 1
    counted = pl.DataFrame({"p": groups * n_strata + strata}).group_by("p").len()
    pair = counted.get_column("p").to_numpy()
    # the largest count wins, then the smaller stratum: one number to take the maximum of
    score = counted.get_column("len").to_numpy().astype(np.int64) * n_strata + (
        n_strata - 1 - pair % n_strata
    )
    best = pl.DataFrame({"g": pair // n_strata, "k": score}).group_by("g").agg(pl.col("k").max()).sort("g")
    winner = best.get_column("k").to_numpy()
    out: I64 = np.zeros(n_groups, dtype=np.int64)
    out[best.get_column("g").to_numpy()] = n_strata - 1 - winner % n_strata
    return out


def _cut_by_size(rest: I64, major: I64, sizes: I64, remaining: F64, seed: int) -> I8:
    """Groups of each stratum in hash order, cut at the cumulative remaining targets by their middle row."""
    weight = np.bincount(major[rest], weights=sizes[rest], minlength=remaining.shape[0])
    remaining = np.clip(remaining, 0.0, None)
    total = remaining.sum(axis=1, keepdims=True)
    fallback = np.broadcast_to(np.full(remaining.shape[1], 1.0 / remaining.shape[1]), remaining.shape)
    share = np.where(total > 0, remaining / np.where(total > 0, total, 1.0), fallback)
    bounds = np.cumsum(share * weight[:, None], axis=1)[:, :-1]
    keys = mix64(rest.astype(np.uint64), seed)
    order = np.lexsort((keys, major[rest]))
    ordered = rest[order]
    strata = major[ordered]
    w = sizes[ordered].astype(np.float64)
    ends = np.cumsum(w)
    stratum_start = np.concatenate(([0.0], np.cumsum(np.bincount(strata, weights=w))))[strata]
    middle = ends - w / 2.0 - stratum_start
    split = np.zeros(ordered.size, dtype=np.int8)
    for k in range(bounds.shape[1]):
        split += (middle >= bounds[strata, k]).astype(np.int8)
    out = np.empty(rest.size, dtype=np.int8)
    out[order] = split
    return out


def multilabel_assign(labels: B, ratios: F64, seed: int) -> I8:
    """Iterative stratification (Sechidis, Tsoumakas and Vlahavas, 2011), a label at a time.

    Each split desires ``ratio x count`` examples of each label. Repeatedly, the label with the
    fewest examples left is taken, and all its remaining examples are shared out at once: the
    counts are those the paper's one-example-at-a-time greedy (to the split that most desires the
    label, ties to the split that desires most examples overall) converges to, and the examples
    are dealt to the splits stratified by their whole label combination, in seeded hash order.
    Desires are then lowered by every label of the examples placed. Examples without labels go
    last, to the splits that most desire examples.

    Example:
        >>> y = np.zeros((100, 2), dtype=bool)
        >>> y[:30, 0] = True
        >>> y[20:40, 1] = True
        >>> split = multilabel_assign(y, np.array([0.5, 0.5]), 0)
        >>> [np.bincount(split[y[:, j]], minlength=2).tolist() for j in range(2)]
        [[15, 15], [10, 10]]
    """
    n = labels.shape[0]
    desired = ratios[:, None] * labels.sum(axis=0)[None, :].astype(np.float64)
    desired_rows = ratios * float(n)
    keys = mix64(np.arange(n, dtype=np.uint64), seed)
    combos = _combination_codes(labels)
    split = np.full(n, -1, dtype=np.int8)
    left = np.ones(n, dtype=bool)
    while True:
        remaining = labels[left].sum(axis=0)
        if not remaining.any():
            break
        label = int(np.argmin(np.where(remaining > 0, remaining, np.iinfo(np.int64).max)))
        rows = np.flatnonzero(left & labels[:, label])
        counts = waterfill(desired[:, label], rows.size, desired_rows)
        placed = _deal(rows, combos, keys, counts)
        split[rows] = placed
        onehot = np.eye(ratios.size, dtype=np.float64)[placed]
        desired -= onehot.T @ labels[rows].astype(np.float64)
        desired_rows -= counts
        left[rows] = False
    rows = np.flatnonzero(left)
    if rows.size:
        split[rows] = _deal(rows, combos, keys, waterfill(desired_rows, rows.size, np.zeros(ratios.size)))
    return split


def _combination_codes(labels: B) -> I64:
    """A code per distinct row of the label matrix."""
    if labels.shape[1] == 0:
        return np.zeros(labels.shape[0], dtype=np.int64)
    _, codes = np.unique(labels, axis=0, return_inverse=True)
    out: I64 = codes.reshape(-1).astype(np.int64)
    return out


def _deal(rows: I64, combos: I64, keys: U64, counts: I64) -> I8:
    """Deal ``rows`` to splits in ``counts`` amounts, each label combination spread like the whole."""
    local = np.unique(combos[rows], return_inverse=True)[1].reshape(-1).astype(np.int64)
    per = allocate_strata(np.bincount(local), counts / max(rows.size, 1))
    _fit_columns(per, counts)
    return assign_by_rank(local, keys[rows], per)


def _fit_columns(per: I64, counts: I64) -> None:
    """Move single rows between splits (within a combination) until each split's total is ``counts``."""
    for _ in range(int(np.abs(per.sum(axis=0) - counts).sum())):
        gap = per.sum(axis=0) - counts
        if not gap.any():
            return
        over, under = int(np.argmax(gap)), int(np.argmin(gap))
        donors = np.flatnonzero(per[:, over] > 0)
        if donors.size == 0:
            return
        s = int(donors[np.argmax(per[donors, over])])
        per[s, over] -= 1
        per[s, under] += 1
