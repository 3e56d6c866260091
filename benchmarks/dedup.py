"""Near-duplicate search on generated documents: datawheel vs datasketch and rensa, one run.

The data: ``--docs`` documents of about 300 characters (words drawn with a seed from a fixed
vocabulary of 5,000 made-up words); 5% of them are copies of other documents with one or two
small edits (a word changed, inserted or deleted), placed at random positions. The true Jaccard of
every injected pair's word-3-gram sets is measured and its distribution printed.

Every tool gets the same shingles (word 3-grams of the text), threshold (0.8), 128 permutations
and the same 16 bands x 8 rows (datawheel's rule for 0.8); each runs in its own process, timed from
the loaded frame to its list of duplicate pairs, with its peak resident memory. The peers keep a
candidate pair when their MinHash estimate reaches the threshold (their usual use); datawheel
verifies candidates by exact Jaccard. Precision: reported pairs that are injected pairs; recall:
injected pairs of true Jaccard ≥ threshold that are reported (for datawheel, in one cluster).

    python benchmarks/dedup.py [--docs 100000] [--tools datawheel,datasketch,rensa]

datasketch and rensa come with ``pip install -e '.[bench]'`` (a missing one is skipped).
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from _common import print_table
from datawheel.clean._dedup import near_duplicates

THRESHOLD, PERMS, BANDS, ROWS, NGRAM, SEED = 0.8, 128, 16, 8, 3, 7


def generate(docs: int, seed: int = SEED) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The documents (``text``) and the injected pairs (``a`` original, ``b`` copy)."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocab = ["".join(rng.choice(letters, size=int(k))) for k in rng.integers(3, 9, size=5000)]
    copies = docs // 20
    originals = [_document(rng, vocab) for _ in range(docs - copies)]
    sources = rng.choice(len(originals), size=copies, replace=False)
    edited = [_edit(rng, vocab, originals[s]) for s in sources]
    order = rng.permutation(docs)  # position of each generated document in the output
    texts = [""] * docs
    for i, words in enumerate([*originals, *edited]):
        texts[order[i]] = " ".join(words)
    pairs = pl.DataFrame({"a": order[sources], "b": order[len(originals) :]})
    return pl.DataFrame({"text": texts}), pairs


def _document(rng: np.random.Generator, vocab: list[str]) -> list[str]:
    words: list[str] = []
    size = 0
    while size < 300:
        words.append(vocab[int(rng.integers(len(vocab)))])
        size += len(words[-1]) + 1
    return words


def _edit(rng: np.random.Generator, vocab: list[str], words: list[str]) -> list[str]:
    out = list(words)
    for _ in range(int(rng.integers(1, 3))):
        at = int(rng.integers(len(out)))
        kind = int(rng.integers(3))
        if kind == 0:
            out[at] = vocab[int(rng.integers(len(vocab)))]
        elif kind == 1:
            out.insert(at, vocab[int(rng.integers(len(vocab)))])
        else:
            del out[at]
    return out


def shingles(text: str) -> list[str]:
    words = text.split(" ")
    return [" ".join(words[i : i + NGRAM]) for i in range(max(1, len(words) - NGRAM + 1))]


def true_jaccard(frame: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    texts = frame.get_column("text")
    out = []
    for a, b in pairs.iter_rows():
        sa, sb = set(shingles(texts[a])), set(shingles(texts[b]))
        out.append(len(sa & sb) / len(sa | sb))
    return pairs.with_columns(pl.Series("jaccard", out))


# --- the tools, each run in a child process -----------------------------------------------------


def run_datawheel(frame: pl.DataFrame) -> list[tuple[int, int]]:
    result = near_duplicates(
        frame,
        "text",
        threshold=THRESHOLD,
        shingle="word",
        n=NGRAM,
        permutations=PERMS,
        bands=BANDS,
        rows=ROWS,
    )
    return [(int(r), int(d)) for r, d in result.removed.select("row", "duplicate_of").iter_rows()]


def run_datasketch(frame: pl.DataFrame) -> list[tuple[int, int]]:
    ds: Any = importlib.import_module("datasketch")
    lsh = ds.MinHashLSH(threshold=THRESHOLD, num_perm=PERMS, params=(BANDS, ROWS))
    hashes = []
    for i, text in enumerate(frame.get_column("text")):
        m = ds.MinHash(num_perm=PERMS, seed=SEED)
        m.update_batch([s.encode() for s in shingles(text)])
        lsh.insert(i, m)
        hashes.append(m)
    found = set()
    for i, m in enumerate(hashes):
        for j in lsh.query(m):
            if j != i and m.jaccard(hashes[j]) >= THRESHOLD:
                found.add((min(i, j), max(i, j)))
    return sorted(found)


def run_rensa(frame: pl.DataFrame) -> list[tuple[int, int]]:
    rs: Any = importlib.import_module("rensa")
    lsh = rs.RMinHashLSH(threshold=THRESHOLD, num_perm=PERMS, num_bands=BANDS)
    hashes = []
    for i, text in enumerate(frame.get_column("text")):
        m = rs.RMinHash(num_perm=PERMS, seed=SEED)
        m.update(shingles(text))
        lsh.insert(i, m)
        hashes.append(m)
    found = set()
    for i, m in enumerate(hashes):
        for j in lsh.query(m):
            if j != i and m.jaccard(hashes[j]) >= THRESHOLD:
                found.add((min(i, j), max(i, j)))
    return sorted(found)


TOOLS = {"datawheel": run_datawheel, "datasketch": run_datasketch, "rensa": run_rensa}


def child(tool: str, data: Path, out: Path) -> None:
    frame = pl.read_parquet(data)
    if tool == "datawheel":  # the frame's row index, so removed rows can be named
        frame = frame.with_row_index("row").with_columns(pl.col("row").cast(pl.Int64))
    start = time.perf_counter()
    pairs = TOOLS[tool](frame)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    pl.DataFrame(
        {"a": [p[0] for p in pairs], "b": [p[1] for p in pairs]}, schema={"a": pl.Int64, "b": pl.Int64}
    ).write_parquet(out)
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb}))


def measure(tool: str, data: Path, pairs_path: Path) -> dict[str, Any] | None:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", tool, "--data", str(data), "--out", str(pairs_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        print(f"({tool} failed or is not installed: {proc.stderr.strip().splitlines()[-1]})")
        return None
    stats: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return stats


def score(found: pl.DataFrame, truth: pl.DataFrame, *, clusters: bool) -> tuple[float, float]:
    """Precision (reported pairs that are injected) and recall (injected pairs ≥ threshold found)."""
    norm = pl.min_horizontal("a", "b").alias("a"), pl.max_horizontal("a", "b").alias("b")
    truth = truth.select(*norm, "jaccard")
    found = found.select(*norm).unique()
    precision = found.join(truth, on=["a", "b"], how="semi").height / max(found.height, 1)
    wanted = truth.filter(pl.col("jaccard") >= THRESHOLD)
    if clusters:  # a datawheel pair is found when both rows fall in one cluster: same representative
        rep = dict(found.select(pl.col("b"), pl.col("a")).iter_rows())
        hits = sum(rep.get(a, a) == rep.get(b, b) for a, b in wanted.select("a", "b").iter_rows())
    else:
        hits = found.join(wanted, on=["a", "b"], how="semi").height
    return precision, hits / max(wanted.height, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--tools", default="datawheel,datasketch,rensa")
    parser.add_argument("--child")
    parser.add_argument("--data", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.data, args.out)
        return
    frame, injected = generate(args.docs)
    truth = true_jaccard(frame, injected)
    jac = truth.get_column("jaccard").to_numpy()
    chars = float(frame.get_column("text").str.len_chars().to_numpy().mean())
    print(f"{args.docs:,} documents, mean {chars:.0f} characters")
    print(
        f"{truth.height:,} injected pairs, true Jaccard of word 3-grams: min {jac.min():.3f}, "
        f"p10 {np.quantile(jac, 0.1):.3f}, median {np.median(jac):.3f}; ≥ {THRESHOLD}: "
        f"{(jac >= THRESHOLD).sum():,} ({(jac >= THRESHOLD).mean():.1%})"
    )
    rows: list[list[str]] = []
    speeds: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "docs.parquet"
        frame.write_parquet(data)
        for tool in args.tools.split(","):
            out = Path(tmp) / f"{tool}.parquet"
            stats = measure(tool, data, out)
            if stats is None:
                continue
            precision, recall = score(pl.read_parquet(out), truth, clusters=tool == "datawheel")
            speeds[tool] = args.docs / stats["seconds"]
            rows.append(
                [
                    tool,
                    f"{stats['seconds']:.1f}",
                    f"{speeds[tool]:,.0f}",
                    f"{stats['peak_mb']:,.0f}",
                    f"{precision:.4f}",
                    f"{recall:.4f}",
                ]
            )
    print_table(["tool", "seconds", "docs/s", "peak MB", "precision", "recall"], rows)
    for peer in ("datasketch", "rensa"):
        if "datawheel" in speeds and peer in speeds:
            print(f"datawheel vs {peer}: {speeds['datawheel'] / speeds[peer]:.1f}x the docs/second")


if __name__ == "__main__":
    main()
