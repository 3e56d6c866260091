"""Cleaning commands: dedup, filter, redact, anonymize. Kept rows become the next version."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from datawheel.cli._app import app, workspace
from datawheel.cli._output import console, print_json
from datawheel.pipeline._clean import CleanReport, anonymize_dataset, filter_dataset

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
RefArg = Annotated[str, typer.Argument(help="The version to clean: NAME, NAME@N or NAME@TAG.")]
ColumnOption = Annotated[str, typer.Option("--column", "-c", help="The text column.")]


def _pairs(values: list[str] | None, option: str) -> dict[str, str]:
    out = {}
    for value in values or []:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip() or not rest.strip():
            raise typer.BadParameter(f"'{value}' is not COLUMN=VALUE", param_hint=option)
        out[key.strip()] = rest.strip()
    return out


def _show(report: CleanReport, json: bool, details: str = "") -> None:
    if json:
        print_json(report.to_dict())
        return
    console.print(
        f"{report.step}: {report.version.ref} keeps {report.kept:,} of {report.rows_in:,} rows; "
        f"{report.removed:,} removed"
        + (f" (in {report.removed_version.ref})" if report.removed_version else "")
        + (f"; {details}" if details else ""),
        markup=False,
    )


@app.command("filter")
def filter_command(
    ref: RefArg,
    column: ColumnOption,
    max_special_ratio: Annotated[
        float | None,
        typer.Option(
            help="Drop rows whose share of characters that are neither letters nor digits is above this."
        ),
    ] = None,
    min_length: Annotated[int | None, typer.Option(help="Drop rows shorter than this (characters).")] = None,
    max_length: Annotated[int | None, typer.Option(help="Drop rows longer than this (characters).")] = None,
    max_repeated_line_ratio: Annotated[
        float | None, typer.Option(help="Drop rows with more repeated lines than this share.")
    ] = None,
    max_repeated_ngram_ratio: Annotated[
        float | None, typer.Option(help="Drop rows with more repeated word n-grams than this share.")
    ] = None,
    languages: Annotated[
        str | None, typer.Option(help="Keep only these languages, comma-separated (ko, en, ja…).")
    ] = None,
    words: Annotated[
        Path | None, typer.Option(help="A file of terms, one a line: rows holding one are dropped.")
    ] = None,
    keep_empty: Annotated[bool, typer.Option("--keep-empty", help="Keep empty or blank rows.")] = False,
    json: JsonOption = False,
) -> None:
    """Drop low-quality rows, each with a reason code, into NAME.removed."""
    terms = (
        [t.strip() for t in words.read_text(encoding="utf-8").splitlines() if t.strip()] if words else None
    )
    options: dict[str, Any] = {
        "drop_empty": not keep_empty,
        "min_length": min_length,
        "max_length": max_length,
        "max_special_ratio": max_special_ratio,
        "max_repeated_line_ratio": max_repeated_line_ratio,
        "max_repeated_ngram_ratio": max_repeated_ngram_ratio,
        "languages": [x.strip() for x in languages.split(",") if x.strip()] if languages else None,
        "words": terms,
    }
    with workspace() as ws:
        report = filter_dataset(ws, ref, column=column, **options)
    reasons = report.stats.get("reasons", {})
    _show(report, json, ", ".join(f"{k} {v:,}" for k, v in reasons.items()))


@app.command()
def anonymize(
    ref: RefArg,
    quasi: Annotated[str, typer.Option(help="Quasi-identifier columns, comma-separated (e.g. age,sex,zip).")],
    k: Annotated[
        int, typer.Option(help="Every combination of quasi-identifiers must occur at least k times.")
    ],
    bucket: Annotated[
        list[str] | None, typer.Option(help="COLUMN=WIDTH: generalise a number into buckets; repeatable.")
    ] = None,
    prefix: Annotated[
        list[str] | None,
        typer.Option(help="COLUMN=N: generalise text to its first N characters; repeatable."),
    ] = None,
    max_suppression: Annotated[
        float | None, typer.Option(help="Most rows to suppress: a count, or a share below 1.")
    ] = None,
    json: JsonOption = False,
) -> None:
    """Make the data k-anonymous: generalise, and suppress the fewest rows (into NAME.removed)."""
    rules: dict[str, dict[str, Any]] = {
        c: {"bucket": float(w)} for c, w in _pairs(bucket, "--bucket").items()
    }
    rules.update({c: {"prefix": int(n)} for c, n in _pairs(prefix, "--prefix").items()})
    cap = int(max_suppression) if max_suppression is not None and max_suppression >= 1 else max_suppression
    with workspace() as ws:
        report = anonymize_dataset(
            ws,
            ref,
            quasi_identifiers=[q.strip() for q in quasi.split(",") if q.strip()],
            k=k,
            generalize=rules or None,
            max_suppression=cap,
        )
    s = report.stats
    _show(
        report, json, f"k reached {s.get('k_reached')}, information lost {s.get('information_loss', 0):.2f}"
    )


@app.command()
def dedup(
    ref: RefArg,
    column: ColumnOption,
    threshold: Annotated[
        float, typer.Option(help="Jaccard similarity at or above which rows are near duplicates.")
    ] = 0.8,
    exact: Annotated[
        bool, typer.Option("--exact", help="Only exact duplicates (after normalising case, spaces, NFKC).")
    ] = False,
    shingle: Annotated[
        str, typer.Option(help="Shingles: auto, word or char (char suits Korean, Chinese, Japanese).")
    ] = "auto",
    n: Annotated[int | None, typer.Option(help="Shingle size (default: 5 characters or 3 words).")] = None,
    json: JsonOption = False,
) -> None:
    """Drop exact and near duplicates (MinHash + LSH); dropped rows go to NAME.removed with duplicate_of."""
    from datawheel.pipeline._clean import dedup_dataset

    options: dict[str, Any] = {} if exact else {"shingle": shingle, "n": n}
    with workspace() as ws:
        report = dedup_dataset(ws, ref, column=column, threshold=threshold, exact=exact, **options)
    _show(report, json, f"{report.stats.get('clusters', 0):,} clusters")


@app.command()
def redact(
    ref: RefArg,
    column: ColumnOption,
    mode: Annotated[
        str, typer.Option(help="mask (***), tag (<EMAIL>), hash (salted) or pseudonym (consistent fakes).")
    ] = "mask",
    salt: Annotated[
        str | None,
        typer.Option(
            envvar="DATAWHEEL_PII_SALT", help="Salt for hash and pseudonym modes (or DATAWHEEL_PII_SALT)."
        ),
    ] = None,
    types: Annotated[
        str | None, typer.Option(help="Only these entity types, comma-separated (EMAIL, PHONE, …).")
    ] = None,
    json: JsonOption = False,
) -> None:
    """Redact PII in a text column; where it was (never what) goes to NAME.pii_findings."""
    from datawheel.pipeline._clean import redact_dataset

    chosen = [t.strip().upper() for t in types.split(",") if t.strip()] if types else None
    with workspace() as ws:
        report = redact_dataset(ws, ref, column=column, mode=mode, salt=salt, types=chosen)
    findings = report.stats.get("findings", {})
    if json:
        print_json(report.to_dict())
        return
    console.print(
        f"redact: {report.version.ref}; findings "
        + (", ".join(f"{k} {v:,}" for k, v in findings.items()) or "none")
        + (f" (where: {report.extra['pii_findings']})" if "pii_findings" in report.extra else ""),
        markup=False,
    )
