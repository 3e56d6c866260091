"""Printing for the command line: JSON on stdout, tables and errors for people."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from datawheel.lineage import VersionInfo

console = Console(highlight=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(value: Any) -> None:
    """Write ``value`` as JSON on stdout (non-ASCII text kept as it is)."""
    print(json.dumps(value, indent=2, ensure_ascii=False, default=_default))


def _default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def when(value: datetime) -> str:
    """A timestamp as people read it, to the second, in UTC."""
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def versions_table(versions: Sequence[VersionInfo], *, title: str | None = None) -> Table:
    """A table of versions: number, rows, tags, time, author, message."""
    table = Table(title=title, title_justify="left")
    for name, justify in (
        ("version", "right"),
        ("rows", "right"),
        ("tags", "left"),
        ("created", "left"),
        ("author", "left"),
        ("execution", "right"),
        ("message", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for v in versions:
        table.add_row(
            v.ref,
            f"{v.rows:,}",
            ", ".join(v.tags),
            when(v.created_at),
            v.author,
            f"#{v.execution_id}" if v.execution_id else "",
            v.message,
        )
    return table


def cell(value: object, width: int = 60) -> str:
    """A value shortened to fit a table cell."""
    text = "∅" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def around_change(before: object, after: object, width: int = 50) -> tuple[str, str]:
    """Two values shortened to the stretch where they start to differ.

    Example:
        >>> around_change("x" * 80 + " &lt;#&gt; bucks", "x" * 80 + " <#> bucks", width=20)
        ('…xxxxxxxxx &lt;#&gt; …', '…xxxxxxxxx <#> bucks')
    """
    a, b = cell(before, 10_000), cell(after, 10_000)
    start = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    start = max(0, start - width // 2)
    return _window(a, start, width), _window(b, start, width)


def _window(text: str, start: int, width: int) -> str:
    piece = text[start : start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(text) else "")
