"""Charts as inline SVG strings, and HTML tables: no JavaScript, no external files.

Every piece of text (titles, labels, cell values) goes through :func:`html.escape`, so values
taken from a dataset are safe to embed. Numbers are printed with :func:`fmt`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Collection, Mapping, Sequence

WIDTH = 640
ACCENT = "#3b6ea8"
ALERT = "#c0392b"
COMPARE = "#e39b2d"
PALETTE = ("#3b6ea8", "#e39b2d", "#3c9d5d", "#c0392b", "#8e6bb8", "#7f7f7f", "#17a2b8", "#b5651d")
_FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def fmt(value: object) -> str:
    """A value as people read it: integers with separators, floats to 4 significant digits.

    Example:
        >>> fmt(1234567), fmt(0.000123456), fmt(3.0), fmt(None), fmt("a<b")
        ('1,234,567', '0.0001235', '3', '∅', 'a<b')
    """
    if value is None:
        return "∅"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        if value == int(value) and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:.4g}"
    return str(value)


def _esc(value: object) -> str:
    return html.escape(fmt(value))


def _open(height: float, title: str) -> list[str]:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'width="{WIDTH}" height="{height:.0f}" role="img" aria-label="{html.escape(title or "chart")}">'
    ]
    if title:
        parts.append(f"<title>{html.escape(title)}</title>")
        parts.append(f'<text x="4" y="14" {_FONT} font-weight="600">{html.escape(title)}</text>')
    return parts


def _short(text: str, width: int = 22) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def bar_chart(
    labels: Sequence[object],
    values: Sequence[float],
    *,
    title: str = "",
    highlight: Collection[object] | None = None,
) -> str:
    """Horizontal bars, one per label; labels in ``highlight`` are drawn in the alert colour.

    Args:
        labels: One label per bar (shown at the left, escaped).
        values: One number per bar; negative values extend left of the zero line.
        title: A caption above the chart.
        highlight: Labels to draw in red (e.g. the columns that drifted).

    Returns:
        An ``<svg>`` element as a string.

    Example:
        >>> svg = bar_chart(["age", "<b>"], [0.3, 0.05], title="PSI", highlight={"age"})
        >>> svg.startswith("<svg") and "&lt;b&gt;" in svg and "#c0392b" in svg
        True
    """
    if len(labels) != len(values):
        raise ValueError(f"bar_chart got {len(labels)} labels and {len(values)} values")
    marked = set(highlight or ())
    top, row = (24 if title else 6), 18
    height = top + row * max(len(labels), 1) + 6
    low = min([0.0, *(float(v) for v in values if _finite(v))])
    high = max([0.0, *(float(v) for v in values if _finite(v))])
    span = (high - low) or 1.0
    left, right = 150, 70
    scale = (WIDTH - left - right) / span
    zero = left + (0 - low) * scale
    parts = _open(height, title)
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + i * row
        v = float(value) if _finite(value) else 0.0
        x0, x1 = sorted((zero, zero + v * scale))
        colour = ALERT if label in marked else ACCENT
        parts.append(
            f'<text x="{left - 6}" y="{y + 12}" text-anchor="end" {_FONT}>'
            f"{html.escape(_short(str(label)))}</text>"
            f'<rect x="{x0:.1f}" y="{y + 2}" width="{max(x1 - x0, 0.5):.1f}" height="{row - 5}" '
            f'fill="{colour}">'
            f"<title>{html.escape(str(label))}: {_esc(value)}</title></rect>"
            f'<text x="{max(x1, zero) + 4:.1f}" y="{y + 12}" {_FONT}>{_esc(value)}</text>'
        )
    parts.append(f'<line x1="{zero:.1f}" y1="{top}" x2="{zero:.1f}" y2="{height - 6}" stroke="#999"/>')
    parts.append("</svg>")
    return "".join(parts)


def histogram(
    edges: Sequence[float],
    counts: Sequence[float],
    *,
    title: str = "",
    compare: Sequence[float] | None = None,
) -> str:
    """Bins as vertical bars; with ``compare``, both sets drawn as shares of their totals, side by side.

    Args:
        edges: ``len(counts) + 1`` bin edges, ascending.
        counts: The count in each bin.
        title: A caption above the chart.
        compare: Counts of a second distribution over the same bins (e.g. the reference),
            drawn in orange beside ``counts`` (blue); both are then normalised to shares.

    Returns:
        An ``<svg>`` element as a string.

    Example:
        >>> svg = histogram([0, 1, 2, 3], [5, 10, 2], title="age", compare=[6, 8, 3])
        >>> svg.count("<rect") >= 6
        True
    """
    if len(edges) != len(counts) + 1:
        raise ValueError(f"histogram needs len(edges) == len(counts) + 1, got {len(edges)} and {len(counts)}")
    if compare is not None and len(compare) != len(counts):
        raise ValueError("histogram: compare must have as many bins as counts")
    series = [list(map(float, counts))] + ([list(map(float, compare))] if compare is not None else [])
    if compare is not None:
        series = [[c / (sum(s) or 1.0) for c in s] for s in series]
    top, bottom, left, height = (24 if title else 8), 30, 50, 200
    peak = max([max(s, default=0.0) for s in series] + [0.0]) or 1.0
    plot_w, plot_h = WIDTH - left - 10, height - top - bottom
    n = max(len(counts), 1)
    width = plot_w / n
    parts = _open(height, title)
    colours = (ACCENT, COMPARE)
    for k, values in enumerate(series):
        bar_w = width / len(series)
        for i, value in enumerate(values):
            h = plot_h * value / peak
            x = left + i * width + k * bar_w
            tip = f"[{fmt(edges[i])}, {fmt(edges[i + 1])}): {fmt(value)}"
            parts.append(
                f'<rect x="{x + 0.5:.1f}" y="{top + plot_h - h:.1f}" width="{max(bar_w - 1, 0.5):.1f}" '
                f'height="{h:.1f}" fill="{colours[k]}"><title>{html.escape(tip)}</title></rect>'
            )
    parts.append(_axis(left, top, plot_w, plot_h, peak, shares=compare is not None))
    for i in sorted({0, n // 2, n}):
        x = left + i * width
        parts.append(
            f'<text x="{x:.1f}" y="{top + plot_h + 14}" text-anchor="middle" {_FONT}>{_esc(edges[i])}</text>'
        )
    if compare is not None:
        parts.append(_legend(["current", "reference"], colours, height - 4))
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    title: str = "",
    x_label: str = "",
    y_label: str = "",
) -> str:
    """One polyline per named series, with points, axes and a legend.

    Args:
        series: ``name -> (xs, ys)``; each series may have its own xs.
        title: A caption above the chart.
        x_label: The x axis caption.
        y_label: The y axis caption.

    Returns:
        An ``<svg>`` element as a string.

    Example:
        >>> svg = line_chart({"train": ([1, 2, 3], [0.5, 0.7, 0.8])}, title="learning curve", x_label="n")
        >>> "<polyline" in svg and "learning curve" in svg
        True
    """
    points = [(float(x), float(y)) for xs, ys in series.values() for x, y in zip(xs, ys, strict=True)]
    points = [(x, y) for x, y in points if _finite(x) and _finite(y)]
    xs_all, ys_all = [p[0] for p in points] or [0.0, 1.0], [p[1] for p in points] or [0.0, 1.0]
    x0, x1 = min(xs_all), max(xs_all)
    y0, y1 = min(min(ys_all), 0.0), max(ys_all)
    x1, y1 = (x1 if x1 > x0 else x0 + 1), (y1 if y1 > y0 else y0 + 1)
    top, left, height = (24 if title else 8), 50, 240
    plot_w, plot_h = WIDTH - left - 10, height - top - 46
    parts = _open(height, title)

    def px(x: float, y: float) -> str:
        return (
            f"{left + (x - x0) / (x1 - x0) * plot_w:.1f},{top + plot_h - (y - y0) / (y1 - y0) * plot_h:.1f}"
        )

    for k, (name, (xs, ys)) in enumerate(series.items()):
        colour = PALETTE[k % len(PALETTE)]
        pairs = [(float(x), float(y)) for x, y in zip(xs, ys, strict=True) if _finite(x) and _finite(y)]
        pts = " ".join(px(x, y) for x, y in pairs)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{pts}"/>')
        for x, y in pairs:
            dot_x, dot_y = px(x, y).split(",")
            parts.append(
                f'<circle cx="{dot_x}" cy="{dot_y}" r="2.5" fill="{colour}">'
                f"<title>{html.escape(name)}: ({_esc(x)}, {_esc(y)})</title></circle>"
            )
    parts.append(_axis(left, top, plot_w, plot_h, y1, low=y0))
    for x in (x0, (x0 + x1) / 2, x1):
        tick = left + (x - x0) / (x1 - x0) * plot_w
        parts.append(
            f'<text x="{tick:.1f}" y="{top + plot_h + 14}" text-anchor="middle" {_FONT}>{_esc(x)}</text>'
        )
    if x_label:
        parts.append(
            f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h + 28}" text-anchor="middle" {_FONT}>'
            f"{html.escape(x_label)}</text>"
        )
    if y_label:
        parts.append(
            f'<text x="12" y="{top + plot_h / 2:.1f}" transform="rotate(-90 12 {top + plot_h / 2:.1f})" '
            f'text-anchor="middle" {_FONT}>{html.escape(y_label)}</text>'
        )
    parts.append(_legend(list(series), PALETTE, height - 4))
    parts.append("</svg>")
    return "".join(parts)


def heatmap(
    rows: Sequence[object],
    cols: Sequence[object],
    values: Sequence[Sequence[float]],
    *,
    title: str = "",
) -> str:
    """A grid of cells shaded by value (white to blue), each with its number written in it.

    Args:
        rows: Row labels (e.g. true classes).
        cols: Column labels (e.g. predicted classes).
        values: ``len(rows)`` lists of ``len(cols)`` numbers.
        title: A caption above the chart.

    Returns:
        An ``<svg>`` element as a string.

    Example:
        >>> svg = heatmap(["ham", "spam"], ["ham", "spam"], [[90, 3], [5, 40]], title="confusion")
        >>> svg.count("<rect") == 4 and ">90<" in svg
        True
    """
    if len(values) != len(rows) or any(len(r) != len(cols) for r in values):
        raise ValueError("heatmap: values must be len(rows) lists of len(cols) numbers")
    top, left = (40 if title else 24), 120
    cell = min(48.0, (WIDTH - left - 10) / max(len(cols), 1))
    height = top + cell * len(rows) + 8
    flat = [float(v) for r in values for v in r if _finite(v)]
    low, high = min(flat, default=0.0), max(flat, default=1.0)
    span = (high - low) or 1.0
    parts = _open(height, title)
    for j, col in enumerate(cols):
        parts.append(
            f'<text x="{left + (j + 0.5) * cell:.1f}" y="{top - 6}" text-anchor="middle" {_FONT}>'
            f"{html.escape(_short(str(col), 8))}</text>"
        )
    for i, (row, line) in enumerate(zip(rows, values, strict=True)):
        y = top + i * cell
        parts.append(
            f'<text x="{left - 6}" y="{y + cell / 2 + 4:.1f}" text-anchor="end" {_FONT}>'
            f"{html.escape(_short(str(row)))}</text>"
        )
        for j, value in enumerate(line):
            share = (float(value) - low) / span if _finite(value) else 0.0
            fill = _shade(share)
            ink = "#fff" if share > 0.6 else "#222"
            parts.append(
                f'<rect x="{left + j * cell:.1f}" y="{y:.1f}" width="{cell - 1:.1f}" height="{cell - 1:.1f}" '
                f'fill="{fill}"><title>{html.escape(str(row))} / {html.escape(str(cols[j]))}: '
                f"{_esc(value)}</title></rect>"
                f'<text x="{left + (j + 0.5) * cell:.1f}" y="{y + cell / 2 + 4:.1f}" text-anchor="middle" '
                f'fill="{ink}" {_FONT}>{_esc(value)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """An HTML table; every header and cell is escaped, numbers formatted with :func:`fmt`.

    Example:
        >>> html_table = table(["column", "nulls"], [["<x>", 1200]])
        >>> html_table[html_table.index("<tbody>") :]
        '<tbody><tr><td>&lt;x&gt;</td><td class="num">1,200</td></tr></tbody></table>'
    """
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: object) -> str:
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    return f'<td class="num">{_esc(value)}</td>' if numeric else f"<td>{_esc(value)}</td>"


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _shade(share: float) -> str:
    share = min(max(share, 0.0), 1.0)
    r, g, b = (int(255 + (t - 255) * share) for t in (59, 110, 168))
    return f"#{r:02x}{g:02x}{b:02x}"


def _axis(
    left: float, top: float, w: float, h: float, high: float, *, low: float = 0.0, shares: bool = False
) -> str:
    lines = [
        f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#999"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#999"/>',
    ]
    for value, y in ((high, top), (low, top + h)):
        label = f"{value:.0%}" if shares else fmt(value)
        lines.append(
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" {_FONT}>{html.escape(label)}</text>'
        )
    return "".join(lines)


def _legend(names: Sequence[str], colours: Sequence[str], y: float) -> str:
    parts, x = [], 50.0
    for k, name in enumerate(names):
        colour = colours[k % len(colours)]
        parts.append(
            f'<rect x="{x:.1f}" y="{y - 9}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14:.1f}" y="{y}" {_FONT}>{html.escape(_short(name))}</text>'
        )
        x += 24 + 7 * min(len(name), 22)
    return "".join(parts)
