"""Writing a dataset version to a file, the format chosen by the file's suffix."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import polars as pl

from datawheel.errors import StoreError

ExportFormat = Literal["parquet", "csv", "tsv", "jsonl"]
_SUFFIXES: dict[str, ExportFormat] = {
    ".parquet": "parquet",
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}


def export_format(path: Path) -> ExportFormat:
    """The format that ``path``'s suffix asks for.

    Example:
        >>> export_format(Path("out/sms.jsonl"))
        'jsonl'
    """
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise StoreError(
            f"cannot tell the export format of '{path}' from its suffix",
            hint=f"end the path with one of {', '.join(sorted(_SUFFIXES))}",
        )
    return fmt


def write_frame(frame: pl.DataFrame, path: Path) -> ExportFormat:
    """Write ``frame`` to ``path``; nested columns become JSON text in CSV and TSV."""
    fmt = export_format(path)
    if fmt in ("csv", "tsv"):
        nested = [n for n, t in frame.schema.items() if isinstance(t, (pl.Struct, pl.List))]
        frame = frame.with_columns(
            pl.col(n).struct.json_encode()
            if isinstance(frame.schema[n], pl.Struct)
            else pl.col(n).cast(pl.List(pl.String)).list.join(",")
            for n in nested
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        if fmt == "parquet":
            frame.write_parquet(tmp)
        elif fmt == "jsonl":
            frame.write_ndjson(tmp)
        else:
            frame.write_csv(tmp, separator="\t" if fmt == "tsv" else ",")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StoreError(
            f"cannot write {path}: {exc.strerror}", hint="check the folder exists and is writable"
        ) from exc
    return fmt
