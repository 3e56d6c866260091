"""Release bundles: manifests, checksums, datasheets."""

__all__: list[str] = []
