"""Versioned tables (Delta Lake) and content-addressed blobs: the storage half of the core."""

from datawheel.store._blobs import BlobStore
from datawheel.store._diff import ColumnChanges, DiffResult, diff_versions
from datawheel.store._export import ExportFormat, export_format, write_frame
from datawheel.store._refs import Ref, check_dataset_name, check_tag, parse_ref
from datawheel.store._rows import (
    ROW_HASH,
    ROW_ID,
    SOURCE,
    FingerprintSet,
    KeyConflict,
    RowIdentity,
    check_keys,
    data_columns,
    id_prints,
    identify_scan,
    is_system_column,
    key_prints,
    number_repeats,
    row_hash_expr,
    with_row_identity,
)
from datawheel.store._tables import COMPRESSIONS, Compression, RowCountError, TableStore, storable

__all__ = [
    "COMPRESSIONS",
    "ROW_HASH",
    "ROW_ID",
    "SOURCE",
    "BlobStore",
    "ColumnChanges",
    "Compression",
    "DiffResult",
    "ExportFormat",
    "FingerprintSet",
    "KeyConflict",
    "Ref",
    "RowCountError",
    "RowIdentity",
    "TableStore",
    "check_dataset_name",
    "check_keys",
    "check_tag",
    "data_columns",
    "diff_versions",
    "export_format",
    "id_prints",
    "identify_scan",
    "is_system_column",
    "key_prints",
    "number_repeats",
    "parse_ref",
    "row_hash_expr",
    "storable",
    "with_row_identity",
    "write_frame",
]
