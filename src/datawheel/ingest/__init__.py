"""Ingestion: reading sources into tables that remember where each row came from.

Every reader gives a :class:`Reading` whose batches hold the rows read (data columns, ``_line``,
maybe ``_file``) and the rows it could not take (the quarantine: line, file, raw, reason).
"""

from datawheel.ingest._batch import (
    FILE,
    LINE,
    QUARANTINE_SCHEMA,
    Batch,
    Reading,
    SourceFormat,
    quarantine_frame,
)
from datawheel.ingest._columnar import read_arrow, read_parquet
from datawheel.ingest._compressed import compression_of, read_copy, scratch_folder
from datawheel.ingest._conform import REASON, TYPE_NAMES, as_quarantine, conform, infer_types, parse_schema
from datawheel.ingest._encoding import codec_name, detect_encoding
from datawheel.ingest._excel import read_excel
from datawheel.ingest._folder import read_folder
from datawheel.ingest._http import Download, download, is_url, shown_url
from datawheel.ingest._json import read_json, read_jsonl
from datawheel.ingest._open import ReadOptions, detect_format, open_source, read_frame, shards_of
from datawheel.ingest._shards import is_glob, read_shards, shards_digest
from datawheel.ingest._sql import read_sql
from datawheel.ingest._text import read_delimited

__all__ = [
    "FILE",
    "LINE",
    "QUARANTINE_SCHEMA",
    "REASON",
    "TYPE_NAMES",
    "Batch",
    "Download",
    "ReadOptions",
    "Reading",
    "SourceFormat",
    "as_quarantine",
    "codec_name",
    "compression_of",
    "conform",
    "detect_encoding",
    "detect_format",
    "download",
    "infer_types",
    "is_glob",
    "is_url",
    "open_source",
    "parse_schema",
    "quarantine_frame",
    "read_arrow",
    "read_copy",
    "read_delimited",
    "read_excel",
    "read_folder",
    "read_frame",
    "read_json",
    "read_jsonl",
    "read_parquet",
    "read_shards",
    "read_sql",
    "scratch_folder",
    "shards_digest",
    "shards_of",
    "shown_url",
]
