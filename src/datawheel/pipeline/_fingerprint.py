"""Fingerprints of code: what a step ran, so a changed step can be told from an unchanged one."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import blake3

from datawheel._version import __version__


def code_fingerprint(fn: Callable[..., Any]) -> str:
    """A BLAKE3 digest of a function's qualified name and source (and datawheel's version).

    Example:
        >>> def double(x: int) -> int:
        ...     return 2 * x
        >>> len(code_fingerprint(double))
        32
    """
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):  # built-ins and code typed into a REPL have no source file
        source = getattr(fn, "__qualname__", repr(fn))
    text = f"{fn.__module__}.{fn.__qualname__}\n{source}\ndatawheel {__version__}"
    digest: str = blake3.blake3(text.encode()).hexdigest()
    return digest[:32]
