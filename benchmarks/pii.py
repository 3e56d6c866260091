"""PII detection on generated text with embedded entities: datawheel beside Presidio's analyzer.

Both tools look for the same seven types (datawheel name / Presidio name): EMAIL/EMAIL_ADDRESS,
PHONE/PHONE_NUMBER, CREDIT_CARD, IBAN/IBAN_CODE, IP_ADDRESS, URL, US_SSN. The text also holds
decoys that must not be reported: order numbers failing Luhn, version numbers, invoice numbers.

Presidio runs offline with no NLP model: ``NoOpNlpEngine`` and only its predefined pattern
recognizers (plus its phone recognizer, which uses ``phonenumbers``), one ``analyze`` call per
row, as a column would be scanned. It is slow, so it runs on the first ``--presidio-mb`` of the
text and its MB/s is measured on that sample. Each side runs in its own process (wall time of
the detection only, peak RSS of the process).

A prediction counts as correct when it overlaps a labelled entity of the same type (each labelled
entity matched once). Presidio's overlapping results are reduced as its anonymizer does: a result
inside a longer one is dropped.

    python benchmarks/pii.py [--mb 50] [--presidio-mb 2] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import polars as pl

from _common import print_table

TYPES = ["EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "IP_ADDRESS", "URL", "US_SSN"]
PRESIDIO_TYPES = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN_CODE": "IBAN",
    "IP_ADDRESS": "IP_ADDRESS",
    "URL": "URL",
    "US_SSN": "US_SSN",
}

_DATAWHEEL = """
import json, resource, sys, time
import polars as pl
from datawheel.clean._pii import detect_pii
frame = pl.read_parquet(sys.argv[1])
start = time.perf_counter()
found = detect_pii(frame, "text", types=@TYPES@)
seconds = time.perf_counter() - start
found.table.select("row", "type", "start", "end").write_parquet(sys.argv[2])
print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""".replace("@TYPES@", repr(TYPES))

_PRESIDIO = """
import json, logging, resource, sys, time
import polars as pl
import tldextract
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.nlp_engine import NoOpNlpEngine
logging.disable(logging.CRITICAL)
tldextract.extract = tldextract.TLDExtract(suffix_list_urls=())  # offline: the bundled suffix list
nlp = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
nlp.load()
registry = RecognizerRegistry(supported_languages=["en"])
registry.load_predefined_recognizers(languages=["en"], nlp_engine=nlp)
engine = AnalyzerEngine(nlp_engine=nlp, registry=registry, supported_languages=["en"])
entities = @ENTITIES@
texts = pl.read_parquet(sys.argv[1])["text"].to_list()
engine.analyze(texts[0], language="en", entities=entities)
start = time.perf_counter()
rows = []
for i, text in enumerate(texts):
    results = engine.analyze(text, language="en", entities=entities)
    spans = [(r.start, r.end, r.entity_type) for r in results]
    for s, e, t in spans:
        if not any(s2 <= s and e <= e2 and (e2 - s2) > (e - s) for s2, e2, _ in spans):
            rows.append((i, t, s, e))
seconds = time.perf_counter() - start
pl.DataFrame(rows, schema=["row", "type", "start", "end"], orient="row").write_parquet(sys.argv[2])
print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""".replace("@ENTITIES@", repr(list(PRESIDIO_TYPES)))

_WORDS = [
    "the",
    "customer",
    "asked",
    "about",
    "delivery",
    "of",
    "the",
    "parcel",
    "and",
    "please",
    "send",
    "invoice",
    "for",
    "account",
    "team",
    "meeting",
    "notes",
    "from",
    "support",
    "ticket",
    "regarding",
    "refund",
    "status",
    "update",
    "shipping",
    "address",
    "changed",
    "yesterday",
]
_NAMES = ["kim", "lee", "park", "alice", "bob", "carol", "dave", "erin", "frank", "grace"]


def _luhn_digit(body: str) -> str:
    total = 0
    for i, c in enumerate(reversed(body)):
        d = int(c)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def _card(rng: random.Random, *, valid: bool) -> str:
    body = rng.choice("45") + "".join(rng.choice("0123456789") for _ in range(14))
    check = _luhn_digit(body)
    number = body + (check if valid else str((int(check) + rng.randint(1, 9)) % 10))
    sep = rng.choice([" ", "-", ""])
    return sep.join(number[i : i + 4] for i in range(0, 16, 4))


def _iban(rng: random.Random) -> str:
    country, size = rng.choice([("GB", 18), ("DE", 18), ("FR", 23), ("NL", 14)])
    bban = "".join(rng.choice("0123456789") for _ in range(size))
    moved = bban + "".join(str(int(c, 36)) for c in country) + "00"
    compact = f"{country}{98 - int(moved) % 97:02d}{bban}"
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4)) if rng.random() < 0.5 else compact


def _entity(rng: random.Random, kind: str) -> str:
    name, n = rng.choice(_NAMES), rng.randint(1, 9999)
    if kind == "EMAIL":
        return f"{name}.{n}@{rng.choice(['example', 'mail', 'corp'])}.{rng.choice(['com', 'org', 'co.uk'])}"
    if kind == "PHONE":
        a, b, c = rng.randint(201, 989), rng.randint(200, 999), rng.randint(0, 9999)
        return rng.choice([f"({a}) {b}-{c:04d}", f"{a}-{b}-{c:04d}", f"+1 {a} {b} {c:04d}"])
    if kind == "CREDIT_CARD":
        return _card(rng, valid=True)
    if kind == "IBAN":
        return _iban(rng)
    if kind == "IP_ADDRESS":
        return ".".join(str(rng.randint(1, 254)) for _ in range(4))
    if kind == "URL":
        return f"https://www.{rng.choice(_WORDS)}{n}.com/{rng.choice(_WORDS)}?id={n}"
    area = rng.choice([x for x in range(100, 900) if x != 666])
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def _decoy(rng: random.Random) -> str:
    return rng.choice(
        [
            f"order {_card(rng, valid=False)}",
            f"version {rng.randint(1, 20)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 99)}",
            f"invoice INV-{rng.randint(100, 999)}-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
            f"ticket {rng.randint(10**6, 10**7)}",
        ]
    )


def generate(mb: float, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Lines of filler text with 1-3 entities and sometimes a decoy; the gold spans of the entities."""
    rng = random.Random(seed)
    texts: list[str] = []
    gold: list[tuple[int, str, int, int]] = []
    size, target = 0, int(mb * 1_000_000)
    while size < target:
        text = " ".join(rng.choices(_WORDS, k=rng.randint(3, 10)))
        for _ in range(rng.randint(1, 3)):
            kind = rng.choice(TYPES)
            value = _entity(rng, kind)
            text += " " + rng.choice(["contact", "ref", "see", "use"]) + " "
            gold.append((len(texts), kind, len(text), len(text) + len(value)))
            text += value + " " + " ".join(rng.choices(_WORDS, k=rng.randint(2, 8)))
        if rng.random() < 0.3:
            text += " " + _decoy(rng) + " done"
        texts.append(text)
        size += len(text.encode()) + 1
    schema = ["row", "type", "start", "end"]
    return pl.DataFrame({"text": texts}), pl.DataFrame(gold, schema=schema, orient="row")


def score(gold: pl.DataFrame, found: pl.DataFrame) -> dict[str, tuple[float, float]]:
    """Precision and recall per type; a prediction is right when it overlaps a same-type gold span."""
    pairs = found.with_row_index("pid").join(gold.with_row_index("gid"), on=["row", "type"], suffix="_g")
    hits = pairs.filter((pl.col("start") < pl.col("end_g")) & (pl.col("start_g") < pl.col("end")))
    out: dict[str, tuple[float, float]] = {}
    for kind in TYPES:
        predicted = found.filter(pl.col("type") == kind).height
        labelled = gold.filter(pl.col("type") == kind).height
        kind_hits = hits.filter(pl.col("type") == kind)
        true_pred, true_gold = kind_hits["pid"].n_unique(), kind_hits["gid"].n_unique()
        out[kind] = (true_pred / predicted if predicted else 1.0, true_gold / labelled if labelled else 1.0)
    return out


def run(code: str, data: Path, out: Path) -> dict[str, float]:
    """Run ``code`` in a fresh interpreter on ``data``; its JSON line of timings."""
    proc = subprocess.run([sys.executable, "-c", code, str(data), str(out)], capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"benchmark subprocess failed:\n{proc.stderr[-3000:]}")
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Generate, run both sides, print throughput and quality."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mb", type=float, default=50.0, help="size of the generated text (MB)")
    parser.add_argument("--presidio-mb", type=float, default=2.0, help="size of Presidio's sample (MB)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    frame, gold = generate(args.mb, args.seed)
    cut = 0
    for cut, n in enumerate(frame["text"].str.len_bytes().cum_sum()):  # noqa: B007
        if n >= args.presidio_mb * 1_000_000:
            break
    sample = frame.head(cut + 1)
    sizes = {
        "datawheel": float(frame["text"].str.len_bytes().sum()) / 1e6,
        "presidio": float(sample["text"].str.len_bytes().sum()) / 1e6,
    }
    rows, quality = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        paths = {"datawheel": Path(tmp, "full.parquet"), "presidio": Path(tmp, "sample.parquet")}
        frame.write_parquet(paths["datawheel"])
        sample.write_parquet(paths["presidio"])
        speeds = {}
        for tool, code in [("datawheel", _DATAWHEEL), ("presidio", _PRESIDIO)]:
            out = Path(tmp, f"{tool}-found.parquet")
            timing = run(code, paths[tool], out)
            found = pl.read_parquet(out).with_columns(
                pl.col("row").cast(pl.Int64), pl.col("start", "end").cast(pl.Int64)
            )
            if tool == "presidio":
                found = found.with_columns(pl.col("type").replace_strict(PRESIDIO_TYPES))
            tool_gold = gold.filter(pl.col("row") < (frame.height if tool == "datawheel" else sample.height))
            quality[tool] = score(tool_gold, found)
            speeds[tool] = sizes[tool] / timing["seconds"]
            rows.append(
                [
                    tool,
                    f"{sizes[tool]:.1f}",
                    f"{timing['seconds']:.2f}",
                    f"{speeds[tool]:.2f}",
                    f"{timing['peak_mb']:.0f}",
                ]
            )
    print_table(["tool", "MB", "seconds", "MB/s", "peak RSS MB"], rows)
    print()
    table = [
        [k, *(f"{quality[t][k][i]:.3f}" for t in ("datawheel", "presidio") for i in (0, 1))] for k in TYPES
    ]
    print_table(["type", "dw precision", "dw recall", "presidio precision", "presidio recall"], table)
    print(f"\nthroughput ratio datawheel/presidio: {speeds['datawheel'] / speeds['presidio']:.1f}x")


if __name__ == "__main__":
    main()
