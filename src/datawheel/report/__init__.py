"""Self-contained HTML reports with inline SVG charts, offline."""

__all__: list[str] = []
