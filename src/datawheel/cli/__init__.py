"""The ``datawheel`` command line: each command parses, calls the Python API, and formats."""

from datawheel.cli import (  # noqa: F401  (they register commands)
    _clean,
    _datasets,
    _demo,
    _evaluate,
    _label,
    _lineage,
    _pipeline,
    _release,
    _serve,
    _sources,
    _split,
    _validate,
)
from datawheel.cli._app import app, main, run

__all__ = ["app", "main", "run"]
