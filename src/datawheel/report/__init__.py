"""Self-contained HTML reports with inline SVG charts, offline.

:class:`Report` builds a page (summary first, sections after); the chart functions return
SVG strings and :func:`table` an HTML table, all with their text escaped.

Example:
    >>> from datawheel.report import Report, histogram, table
    >>> r = Report("Profile of adult@1")
    >>> r.summary([("warning", "workclass: 5.6% nulls")])
    >>> r.section("age", histogram([17, 40, 90], [600, 400]) + table(["count"], [[1000]]))
    >>> "<svg" in r.render()
    True
"""

from datawheel.report._charts import bar_chart, fmt, heatmap, histogram, line_chart, table
from datawheel.report._report import LEVELS, Level, Report

__all__ = [
    "LEVELS",
    "Level",
    "Report",
    "bar_chart",
    "fmt",
    "heatmap",
    "histogram",
    "line_chart",
    "table",
]
