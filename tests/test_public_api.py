"""Each package's ``__all__`` is sorted, names what it exports, and exports only that."""

import importlib

import pytest

PACKAGES = [
    "datawheel",
    "datawheel.errors",
    "datawheel.store",
    "datawheel.lineage",
    "datawheel.workspace",
    "datawheel.ingest",
    "datawheel.clean",
    "datawheel.transform",
    "datawheel.validate",
    "datawheel.split",
    "datawheel.label",
    "datawheel.evaluate",
    "datawheel.release",
    "datawheel.report",
    "datawheel.models",
    "datawheel.server",
    "datawheel.pipeline",
    "datawheel.demo",
    "datawheel.cli",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_complete(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    # the order ruff's RUF022 keeps: CONSTANTS, then Classes, then functions
    assert exported == sorted(exported, key=lambda s: (0 if s.isupper() else 1 if s[:1].isupper() else 2, s))
    for symbol in exported:
        assert hasattr(module, symbol), f"{name}.__all__ names {symbol}, which it lacks"
    public = {
        n
        for n, v in vars(module).items()
        if not n.startswith("_") and getattr(v, "__module__", "").startswith("datawheel")
    }
    assert public <= set(exported) | {n for n in public if isinstance(getattr(module, n), type(module))}


def test_version() -> None:
    import datawheel

    assert datawheel.__version__.count(".") == 2
