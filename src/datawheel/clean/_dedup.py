"""Exact and near-duplicate rows of a text column: normalised equality, then MinHash + banded LSH.

The near-duplicate search runs in five passes, each linear in the data or in the candidates:

1. **Normalise and collapse exact duplicates.** Text is NFKC-normalised, lower-cased, runs of
   white space become one space, and the ends are stripped. Rows whose normalised text is equal are
   exact duplicates of the earliest such row; only the distinct texts go on.
2. **Shingle and sign.** Each distinct text becomes a set of shingles (word or character
   n-grams), each shingle a 64-bit Polars hash folded to 32 bits, ``x``. Permutation ``i`` is the
   multiply-add-shift hash ``((a_i * x + b_i) mod 2**64) >> 32`` (Dietzfelbinger's universal family,
   with odd 64-bit ``a_i`` and 64-bit ``b_i`` drawn from ``seed``); the MinHash signature is the
   minimum of each permutation over the text's shingles, computed by a Polars ``group_by`` (on all
   cores) over chunks of documents, so memory holds one chunk's shingles and the signatures
   (4 bytes times permutations a text).
3. **Band.** The signature is cut into ``bands`` bands of ``rows`` values; each band is hashed to
   64 bits, and texts are grouped by (band, hash) with Polars ``group_by``, one band at a time. Two
   texts that share a bucket in any band are a candidate pair (a bucket of more than
   ``_BUCKET_PAIRS_CAP`` texts pairs each with its earliest member, so one huge bucket cannot
   explode). Grouping sorted keys is what a cluster does too (Ray, or a sort on disk): no
   in-memory index of buckets is kept.
4. **Verify.** Each candidate pair's *exact* Jaccard similarity of shingle sets is computed (the
   shingles are hashed again for candidate texts only) and pairs below ``threshold`` are dropped.
5. **Cluster.** Verified pairs are joined into connected components (union-find). The rule for the
   representative: **the earliest row, in the frame's order, of each cluster is kept**; every other
   member is removed with ``duplicate_of`` naming it and ``similarity`` its exact Jaccard to it
   (which can be below ``threshold`` when a member joined the cluster through a chain of pairs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from datawheel.errors import CleanError

__all__ = ["DedupResult", "choose_bands", "exact_duplicates", "near_duplicates"]

Shingle = Literal["auto", "word", "char"]
U32 = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

_BUCKET_PAIRS_CAP = 64  # a bucket larger than this pairs each member with its earliest one only
_SHINGLES_PER_CHUNK = (
    1 << 20
)  # shingles hashed and signed at once (memory: ~16 bytes times permutations each)
_2_32 = 1 << 32
_CJK = r"[\p{Hangul}\p{Han}\p{Hiragana}\p{Katakana}]"
_DEFAULT_N = {"char": 5, "word": 3}


@dataclass(frozen=True)
class DedupResult:
    """The outcome of a duplicate search: rows kept, rows removed, and how they were found.

    Attributes:
        kept: The input rows kept, with the same columns and in the same order.
        removed: The dropped rows, in input order, with three added columns: ``duplicate_of`` (the
            kept representative's row index in the input, or its ``_row_id`` when the frame has
            one), ``similarity`` (Float64: 1.0 for exact duplicates, else the exact Jaccard
            similarity of shingle sets to the representative) and ``reason`` (``"exact duplicate"``
            or ``"near duplicate"``).
        clusters: The number of groups of more than one row (each keeps exactly one).
        params: The parameters the search used (mode, threshold, shingles, bands, rows…).
        candidate_pairs: Pairs of distinct texts the LSH proposed (0 for an exact search).
        verified_pairs: Candidate pairs whose exact Jaccard reached the threshold.
    """

    kept: pl.DataFrame
    removed: pl.DataFrame
    clusters: int
    params: dict[str, Any] = field(default_factory=dict)
    candidate_pairs: int = 0
    verified_pairs: int = 0

    def __post_init__(self) -> None:
        assert self.params.get("rows_in", self.kept.height + self.removed.height) == (
            self.kept.height + self.removed.height
        ), "rows in must equal rows kept + rows removed"

    def to_dict(self) -> dict[str, Any]:
        """Counts and parameters as plain JSON-ready values (the ``--json`` shape of ``dedup``).

        Example:
            >>> frame = pl.DataFrame({"text": ["Hi there", "hi  there", "bye"]})
            >>> stats = exact_duplicates(frame, "text").to_dict()
            >>> stats["rows_in"], stats["kept"], stats["removed"], stats["clusters"]
            (3, 2, 1, 1)
        """
        reasons = self.removed.get_column("reason") if self.removed.height else pl.Series([], dtype=pl.String)
        return {
            **self.params,
            "rows_in": self.kept.height + self.removed.height,
            "kept": self.kept.height,
            "removed": self.removed.height,
            "exact_duplicates": int((reasons == "exact duplicate").sum()),
            "near_duplicates": int((reasons == "near duplicate").sum()),
            "clusters": self.clusters,
            "candidate_pairs": self.candidate_pairs,
            "verified_pairs": self.verified_pairs,
        }


def exact_duplicates(
    frame: pl.DataFrame,
    column: str,
    *,
    lowercase: bool = True,
    collapse_whitespace: bool = True,
    nfkc: bool = True,
) -> DedupResult:
    r"""Rows whose text equals an earlier row's after normalisation; the earliest row is kept.

    Normalisation, each step only when its flag is on: Unicode NFKC, lower case, runs of white
    space to one space with the ends stripped. Null texts are never duplicates (they are kept).

    Args:
        frame: The rows.
        column: The text (String) column compared.
        lowercase: Compare case-insensitively.
        collapse_whitespace: Treat runs of white space as one space and ignore it at the ends.
        nfkc: Compare after Unicode NFKC normalisation (full-width letters, ligatures…).

    Returns:
        The rows kept and removed; ``similarity`` is 1.0 for every removed row.

    Raises:
        CleanError: The column is missing or does not hold text.

    Example:
        >>> frame = pl.DataFrame({"text": ["Free  entry", "free entry", "\uff26ree entry", "call me"]})
        >>> result = exact_duplicates(frame, "text")
        >>> result.kept["text"].to_list(), result.removed["duplicate_of"].to_list()
        (['Free  entry', 'call me'], [0, 0])
    """
    _check_column(frame, column)
    norm = _normalise(frame.get_column(column), lowercase=lowercase, spaces=collapse_whitespace, nfkc=nfkc)
    rep = _first_of_equal(norm)
    params = {
        "mode": "exact",
        "lowercase": lowercase,
        "collapse_whitespace": collapse_whitespace,
        "nfkc": nfkc,
    }
    similarity = np.ones(frame.height)
    exact = np.ones(frame.height, dtype=bool)
    return _result(frame, rep, similarity, exact, params={"rows_in": frame.height, **params})


def near_duplicates(
    frame: pl.DataFrame,
    column: str,
    *,
    threshold: float = 0.8,
    shingle: Shingle = "auto",
    n: int | None = None,
    permutations: int = 128,
    seed: int = 42,
    bands: int | None = None,
    rows: int | None = None,
) -> DedupResult:
    """Rows whose text is near an earlier row's (Jaccard of shingles ≥ ``threshold``), by MinHash + LSH.

    Exact duplicates after normalisation (NFKC, lower case, white space collapsed) are always
    found too. See the module's documentation for the passes and the representative rule (the
    earliest row of each cluster is kept).

    Args:
        frame: The rows.
        column: The text (String) column compared.
        threshold: The Jaccard similarity, in (0, 1], at which two texts are duplicates.
        shingle: ``"word"`` (word n-grams), ``"char"`` (character n-grams, white space included) or
            ``"auto"``: ``"char"`` when most letters of the text are Hangul, Han or Kana (Korean,
            Chinese and Japanese, whose words are not reliably split by spaces), else ``"word"``.
        n: The n-gram length; default 5 for characters, 3 for words. A text shorter than ``n``
            is one shingle.
        permutations: The MinHash signature length.
        seed: Seeds the shingle hash and the permutations (same seed, same result).
        bands: LSH bands; with ``rows``, overrides :func:`choose_bands`. ``bands * rows`` must not
            exceed ``permutations``.
        rows: Signature values per band.

    Returns:
        The rows kept and removed, with the count of clusters and of candidate and verified pairs.

    Raises:
        CleanError: The column is missing or not text, or a parameter is out of range.

    Example:
        >>> frame = pl.DataFrame(
        ...     {
        ...         "text": [
        ...             "the quick brown fox jumps over the lazy dog by the river bank today",
        ...             "the quick brown fox jumps over the lazy dog by the river bank today!",
        ...             "a completely different sentence about spam filters and versioned data",
        ...         ]
        ...     }
        ... )
        >>> result = near_duplicates(frame, "text", threshold=0.7, shingle="word")
        >>> result.removed.select("duplicate_of", "reason").rows()
        [(0, 'near duplicate')]
    """
    _check_column(frame, column)
    _check_params(threshold, n, permutations)
    texts = _normalise(frame.get_column(column), lowercase=True, spaces=True, nfkc=True)
    kind = _pick_shingle(texts) if shingle == "auto" else shingle
    if kind not in _DEFAULT_N:
        raise CleanError(f"unknown shingle kind {shingle!r}", hint="use 'auto', 'word' or 'char'")
    size = n if n is not None else _DEFAULT_N[kind]
    b, r = _bands_rows(threshold, permutations, bands, rows)
    params = {
        "mode": "near",
        "threshold": threshold,
        "shingle": kind,
        "n": size,
        "permutations": permutations,
        "bands": b,
        "rows": r,
        "seed": seed,
        "rows_in": frame.height,
    }
    rep = _first_of_equal(texts)
    firsts = np.flatnonzero((rep == np.arange(frame.height)) & texts.is_not_null().to_numpy())
    firsts = firsts[(texts.gather(firsts).str.len_chars() > 0).to_numpy()]
    distinct = texts.gather(firsts)
    sig = _signatures(distinct, kind, size, permutations, seed)
    cand = _candidate_pairs(sig, b, r)
    verified = _jaccard(distinct, cand, kind, size, seed)
    edges = verified.filter(pl.col("jaccard") >= threshold)
    roots = _components(len(firsts), edges)
    # map each distinct text's cluster root (an index into firsts) back to input rows
    root_row = firsts[roots]
    rep = np.where(rep >= 0, rep, np.arange(frame.height))
    in_distinct = np.full(frame.height, -1, dtype=np.int64)
    in_distinct[firsts] = np.arange(len(firsts))
    via = in_distinct[rep]  # the distinct text each row equals (-1: null or empty text)
    final = rep.copy()
    final[via >= 0] = root_row[via[via >= 0]]
    similarity, exact = _similarity_to_rep(distinct, roots, via, final, rep, kind, size, seed)
    result = _result(frame, final, similarity, exact, params=params)
    return DedupResult(
        result.kept,
        result.removed,
        result.clusters,
        params,
        candidate_pairs=cand.height,
        verified_pairs=edges.height,
    )


def choose_bands(threshold: float, permutations: int) -> tuple[int, int]:
    """LSH bands and rows for a Jaccard threshold: the S-curve that best separates the two sides.

    Two texts of Jaccard ``s`` share a bucket with probability ``P(s) = 1 - (1 - s**r)**b``. Over
    every ``b, r`` with ``b * r <= permutations`` this picks the pair minimising
    ``0.05 * FP + 0.95 * FN``, where ``FP`` is the area under ``P`` below the threshold (pairs
    proposed that verification will drop: time) and ``FN`` the area above ``P`` over the threshold
    (duplicates missed: recall). False negatives weigh nineteen times as much because every candidate
    is verified exactly, so a false positive costs only time: at 0.8 and 128 permutations this gives
    16 bands of 8 rows, which proposes a pair of Jaccard 0.8 with probability 0.95 and one of 0.6
    with 0.24. Ties go to the larger ``b * r``.

    Args:
        threshold: The Jaccard threshold, in (0, 1].
        permutations: The MinHash signature length.

    Returns:
        ``(bands, rows)``.

    Example:
        >>> choose_bands(0.8, 128)
        (16, 8)
    """
    grid = np.linspace(0.0, 1.0, 2001)
    below, above = grid <= threshold, grid >= threshold
    best: tuple[float, int, int] | None = None
    for r in range(1, permutations + 1):
        for b in range(1, permutations // r + 1):
            p = 1.0 - (1.0 - grid**r) ** b
            fp = float(np.trapezoid(p[below], grid[below])) if below.sum() > 1 else 0.0
            fn = float(np.trapezoid(1.0 - p[above], grid[above])) if above.sum() > 1 else 0.0
            cost = 0.05 * fp + 0.95 * fn - 1e-12 * b * r
            if best is None or cost < best[0]:
                best = (cost, b, r)
    assert best is not None
    return best[1], best[2]


# --- checks -------------------------------------------------------------------------------------


def _check_column(frame: pl.DataFrame, column: str) -> None:
    if column not in frame.columns:
        raise CleanError(
            f"no column {column!r} to deduplicate (columns: {', '.join(frame.columns) or 'none'})",
            hint="name a text column with --column",
        )
    dtype = frame.schema[column]
    if dtype not in (pl.String, pl.Categorical, pl.Null) and not isinstance(dtype, pl.Enum):
        raise CleanError(
            f"column {column!r} holds {dtype}, not text",
            hint="deduplicate on a String column, or cast it to text first",
        )


def _check_params(threshold: float, n: int | None, permutations: int) -> None:
    if not 0.0 < threshold <= 1.0:
        raise CleanError(
            f"threshold {threshold} is outside (0, 1]",
            hint="give a Jaccard similarity such as 0.8 (1.0 finds exact shingle-set matches only)",
        )
    if n is not None and n < 1:
        raise CleanError(f"shingle length n={n} is below 1", hint="use n=5 for characters or n=3 for words")
    if permutations < 1:
        raise CleanError(f"permutations={permutations} is below 1", hint="use 128 or more")


def _bands_rows(threshold: float, permutations: int, bands: int | None, rows: int | None) -> tuple[int, int]:
    if bands is None and rows is None:
        return choose_bands(threshold, permutations)
    if bands is None or rows is None or bands < 1 or rows < 1 or bands * rows > permutations:
        raise CleanError(
            f"bands={bands} and rows={rows} do not fit {permutations} permutations",
            hint="give both, each at least 1, with bands * rows <= permutations (or neither)",
        )
    return bands, rows


# --- normalisation and exact equality -----------------------------------------------------------


def _normalise(texts: pl.Series, *, lowercase: bool, spaces: bool, nfkc: bool) -> pl.Series:
    x = texts.cast(pl.String)
    if nfkc:  # NFKC leaves ASCII as it is: normalise only the texts with another character
        x = _where_matching(x, r"[^\x00-\x7F]", lambda t: t.str.normalize("NFKC"))
    if lowercase:
        x = x.str.to_lowercase()
    if spaces:  # only a run of spaces or another white space character needs replacing
        x = _where_matching(x, r"[\s&&[^ ]]| {2}", lambda t: t.str.replace_all(r"\s+", " "))
        x = x.str.strip_chars(" ")
    return x


def _where_matching(texts: pl.Series, pattern: str, change: Callable[[pl.Series], pl.Series]) -> pl.Series:
    """``change`` applied to the texts matching ``pattern`` only (the others are left as they are)."""
    rows = texts.str.contains(pattern).fill_null(False).arg_true()
    if rows.len() == 0:
        return texts
    if rows.len() == texts.len():
        return change(texts)
    return texts.clone().scatter(rows, change(texts.gather(rows)))


def _first_of_equal(texts: pl.Series) -> I64:
    """For each row, the index of the first row with the same (non-null) text; -1 for nulls."""
    frame = pl.DataFrame({"t": texts}).with_row_index("i")
    first = frame.select(pl.col("i").first().over("t").cast(pl.Int64).alias("f"), pl.col("t").is_null())
    out = first.get_column("f").to_numpy().astype(np.int64)
    out[first.get_column("t").to_numpy()] = -1
    return out


def _pick_shingle(texts: pl.Series) -> Literal["word", "char"]:
    sample = texts.drop_nulls().head(2000)
    letters = int(sample.str.count_matches(r"\p{L}").sum() or 0)
    cjk = int(sample.str.count_matches(_CJK).sum() or 0)
    return "char" if letters and cjk * 2 > letters else "word"


# --- shingles and signatures --------------------------------------------------------------------


def _shingles(texts: pl.Series, kind: str, n: int, seed: int) -> pl.DataFrame:
    """``doc`` (position in ``texts``) and ``h`` (UInt64 shingle hash), in document order."""
    return _shingles_lazy(texts, kind, n, seed).collect()


def _shingles_lazy(texts: pl.Series, kind: str, n: int, seed: int) -> pl.LazyFrame:
    """:func:`_shingles` as a lazy query (to fuse with what follows it)."""
    tokens = texts.str.split("") if kind == "char" else texts.str.split(" ")
    parts = (
        pl.DataFrame({"tok": tokens})
        .with_row_index("doc")
        .explode("tok")
        .filter(pl.col("tok").is_not_null() & (pl.col("tok") != ""))
    )
    # documents are contiguous: each token's position and the tokens left in its document
    doc = parts.get_column("doc").to_numpy()
    counts = np.bincount(doc, minlength=texts.len())
    pos = np.arange(doc.size) - (np.cumsum(counts) - counts)[doc]
    left = counts[doc] - pos
    keep = (left >= n) | ((pos == 0) & (left < n))  # every full n-gram, or the whole short text
    tok = pl.col("tok")
    shifted = [tok, *(pl.when(pl.col("left") > k).then(tok.shift(-k)) for k in range(1, n))]
    sep = "" if kind == "char" else " "
    return (
        parts.with_columns(pl.Series("left", left, dtype=pl.Int64), pl.Series("keep", keep, dtype=pl.Boolean))
        .lazy()
        .select(
            "doc",
            pl.concat_str(shifted, separator=sep, ignore_nulls=True).hash(seed=seed).alias("h"),
            "keep",
        )
        .filter("keep")
        .select("doc", "h")
    )


def _permutations(permutations: int, seed: int) -> tuple[U64, U64]:
    rng = np.random.default_rng(seed)
    a = rng.integers(
        0, np.iinfo(np.uint64).max, size=permutations, dtype=np.uint64, endpoint=True
    ) | np.uint64(1)
    b = rng.integers(0, np.iinfo(np.uint64).max, size=permutations, dtype=np.uint64, endpoint=True)
    return a, b


def _signatures(texts: pl.Series, kind: str, n: int, permutations: int, seed: int) -> U32:
    """MinHash signatures, one row of ``permutations`` uint32 values per text (all non-empty)."""
    a, b = _permutations(permutations, seed)
    sig = np.empty((texts.len(), permutations), dtype=np.uint32)
    lengths = texts.str.len_chars() if kind == "char" else texts.str.count_matches(" ") + 1
    per_doc = max(1.0, float(lengths.mean() or 1.0))  # type: ignore[arg-type]
    step = max(1, int(_SHINGLES_PER_CHUNK / per_doc))
    low = ((pl.col("h") ^ (pl.col("h") // _2_32)) % _2_32).alias("x")
    # the shift is monotone, so the minimum is taken before it: ((a * x + b) mod 2**64) >> 32; each
    # text's hashes are gathered into one list first, then every permutation is a list expression
    mins = [
        (pl.col("x") * pl.lit(int(a[i]), pl.UInt64) + pl.lit(int(b[i]), pl.UInt64)).list.min().alias(f"p{i}")
        for i in range(permutations)
    ]
    for start in range(0, texts.len(), step):
        chunk = _shingles_lazy(texts.slice(start, step), kind, n, seed).select("doc", low)
        signed = chunk.group_by("doc", maintain_order=True).agg("x").select("doc", *mins).collect()
        docs = signed.get_column("doc").to_numpy().astype(np.int64)
        sig[start + docs] = signed.drop("doc").to_numpy() >> np.uint64(32)
    return sig


# --- LSH, verification, clusters ----------------------------------------------------------------


def _band_keys(sig: U32, band: int, rows: int) -> U64:
    key = np.full(sig.shape[0], 0x9E3779B97F4A7C15, dtype=np.uint64)
    for c in range(band * rows, (band + 1) * rows):
        key ^= sig[:, c].astype(np.uint64)
        key *= np.uint64(0xBF58476D1CE4E5B9)
        key ^= key >> np.uint64(31)
    return key


def _candidate_pairs(sig: U32, bands: int, rows: int) -> pl.DataFrame:
    """Distinct pairs ``a < b`` of texts sharing a bucket in at least one band (Polars group_by)."""
    found: list[pl.DataFrame] = []
    for band in range(bands):
        buckets = (
            pl.DataFrame({"key": _band_keys(sig, band, rows)})
            .with_row_index("doc")
            .group_by("key")
            .agg(pl.col("doc"))
            .filter(pl.col("doc").list.len() > 1)
        )
        if buckets.height:
            found.append(_bucket_pairs(buckets))
    if not found:
        return pl.DataFrame(schema={"a": pl.UInt32, "b": pl.UInt32})
    return pl.concat(found).unique().sort("a", "b")


def _bucket_pairs(buckets: pl.DataFrame) -> pl.DataFrame:
    small = buckets.filter(pl.col("doc").list.len() <= _BUCKET_PAIRS_CAP).with_row_index("bucket")
    left = small.explode("doc").rename({"doc": "a"})
    every = left.join(left.rename({"a": "b"}), on="bucket").filter(pl.col("a") < pl.col("b"))
    big = buckets.filter(pl.col("doc").list.len() > _BUCKET_PAIRS_CAP).select(
        pl.col("doc").list.min().alias("a"), pl.col("doc")
    )
    star = big.explode("doc").rename({"doc": "b"}).filter(pl.col("a") < pl.col("b"))
    return pl.concat([every.select("a", "b"), star.select("a", "b")])


def _jaccard(texts: pl.Series, pairs: pl.DataFrame, kind: str, n: int, seed: int) -> pl.DataFrame:
    """Exact Jaccard of shingle-hash sets for each pair ``a, b`` (indices into ``texts``)."""
    if pairs.height == 0:
        return pairs.with_columns(pl.lit(None, dtype=pl.Float64).alias("jaccard"))
    docs = pl.concat([pairs.get_column("a"), pairs.get_column("b")]).unique().sort()
    sets = _shingles(texts.gather(docs), kind, n, seed).unique()
    sets = sets.with_columns(docs.gather(sets.get_column("doc")).alias("doc"))
    sizes = sets.group_by("doc").len("size")
    shared = (
        pairs.join(sets.rename({"doc": "a"}), on="a")
        .join(sets.rename({"doc": "b"}), on=["b", "h"])
        .group_by("a", "b")
        .len("inter")
    )
    return (
        pairs.join(shared, on=["a", "b"], how="left")
        .join(sizes.rename({"doc": "a", "size": "sa"}), on="a")
        .join(sizes.rename({"doc": "b", "size": "sb"}), on="b")
        .select(
            "a",
            "b",
            (
                pl.col("inter").fill_null(0) / (pl.col("sa") + pl.col("sb") - pl.col("inter").fill_null(0))
            ).alias("jaccard"),
        )
    )


def _components(count: int, edges: pl.DataFrame) -> I64:
    """For each of ``count`` nodes, the smallest node of its connected component (union-find)."""
    parent = np.arange(count, dtype=np.int64)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = int(parent[x])
        return x

    for a, b in edges.select("a", "b").iter_rows():
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([find(i) for i in range(count)], dtype=np.int64) if count else parent


def _similarity_to_rep(
    texts: pl.Series, roots: I64, via: I64, final: I64, rep: I64, kind: str, n: int, seed: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Each row's exact Jaccard to its representative, and whether it is an exact duplicate of it."""
    similarity = np.ones(len(final))
    exact = rep == final
    moved = np.flatnonzero(roots != np.arange(len(roots)))  # distinct texts that are near duplicates
    if moved.size:
        pairs = pl.DataFrame({"a": roots[moved].astype(np.uint32), "b": moved.astype(np.uint32)})
        jac = np.empty(len(roots))
        jac[moved] = _jaccard(texts, pairs, kind, n, seed).sort("b").get_column("jaccard").to_numpy()
        rows = np.flatnonzero(via >= 0)
        near = rows[roots[via[rows]] != via[rows]]
        similarity[near] = jac[via[near]]
    return similarity, exact


# --- the result ---------------------------------------------------------------------------------


def _result(
    frame: pl.DataFrame,
    rep: I64,
    similarity: npt.NDArray[np.float64],
    exact: npt.NDArray[np.bool_],
    *,
    params: dict[str, Any],
) -> DedupResult:
    """Split ``frame`` by ``rep`` (each row's representative row index; -1 or itself: kept)."""
    index = np.arange(frame.height)
    dropped = (rep >= 0) & (rep != index)
    mask = pl.Series(dropped, dtype=pl.Boolean)
    if "_row_id" in frame.columns:
        dup_of = frame.get_column("_row_id").gather(rep[dropped])
    else:
        dup_of = pl.Series(rep[dropped], dtype=pl.Int64)
    removed = frame.filter(mask).with_columns(
        dup_of.alias("duplicate_of"),
        pl.Series("similarity", similarity[dropped], dtype=pl.Float64),
        pl.Series("reason", np.where(exact[dropped], "exact duplicate", "near duplicate"), dtype=pl.String),
    )
    kept = frame.filter(~mask)
    clusters = int(np.unique(rep[dropped]).size)
    assert kept.height + removed.height == frame.height
    return DedupResult(kept, removed, clusters, params)
