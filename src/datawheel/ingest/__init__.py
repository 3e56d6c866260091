"""Ingestion: reading sources into tables that remember where each row came from."""

from datawheel.ingest._readers import LINE, FileFormat, ReadResult, detect_format, read_file

__all__ = ["LINE", "FileFormat", "ReadResult", "detect_format", "read_file"]
