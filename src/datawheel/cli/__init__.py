"""The ``datawheel`` command line: each command parses, calls the Python API, and formats."""

from datawheel.cli import _clean, _datasets, _demo, _lineage, _pipeline, _sources  # noqa: F401  (they register commands)
from datawheel.cli._app import app, main, run

__all__ = ["app", "main", "run"]
