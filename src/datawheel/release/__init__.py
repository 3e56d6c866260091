"""Release bundles: data files, a manifest of BLAKE3 checksums, a datasheet, the lineage drawn.

Plain functions over folders and facts: :func:`write_manifest` and :func:`verify_bundle`
check a bundle, :func:`datasheet_markdown` writes the datasheet from facts the pipeline layer
gathers from lineage, :func:`push_bundle` and :func:`pull_bundle` move bundles to and from a
folder or object storage.
"""

from datawheel.release._bundle import (
    MANIFEST,
    MANIFEST_FORMAT,
    Problem,
    ReleaseError,
    Verification,
    bundle_files,
    file_checksum,
    pack_bundle,
    read_manifest,
    unpack_bundle,
    verify_bundle,
    write_manifest,
)
from datawheel.release._datasheet import OWNER, SECTIONS, datasheet_markdown, markdown_html
from datawheel.release._graph import lineage_html
from datawheel.release._remote import pull_bundle, push_bundle

__all__ = [
    "MANIFEST",
    "MANIFEST_FORMAT",
    "OWNER",
    "SECTIONS",
    "Problem",
    "ReleaseError",
    "Verification",
    "bundle_files",
    "datasheet_markdown",
    "file_checksum",
    "lineage_html",
    "markdown_html",
    "pack_bundle",
    "pull_bundle",
    "push_bundle",
    "read_manifest",
    "unpack_bundle",
    "verify_bundle",
    "write_manifest",
]
