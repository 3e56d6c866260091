"""HTML reports of profiles, validations, drift and monitoring runs (summary first, details after)."""

from __future__ import annotations

import html

from datawheel.report import Level, Report, bar_chart, fmt, histogram, table
from datawheel.validate._contract import ValidationResult
from datawheel.validate._drift import FORMULAS, DriftReport
from datawheel.validate._monitor import MonitorReport
from datawheel.validate._profile import ColumnProfile, Profile


def profile_report(profile: Profile, *, title: str = "Profile", subtitle: str = "") -> Report:
    """A profile as a report: warnings on nulls and constant columns, then a section per column.

    Example:
        >>> import polars as pl
        >>> from datawheel.validate import profile
        >>> page = profile_report(profile(pl.DataFrame({"x": [1, 2, None]}))).render()
        >>> "x: 33.33% nulls" in page and "<svg" in page
        True
    """
    report = Report(title, subtitle or f"{profile.rows:,} rows, {len(profile.columns)} columns")
    items: list[tuple[Level, str]] = []
    for name, c in profile.columns.items():
        share = c.nulls / c.count if c.count else 0.0
        if share >= 0.05:
            items.append(("warning", f"{name}: {share:.2%} nulls"))
        if c.values and c.distinct == 1:
            items.append(("warning", f"{name}: one value only"))
    items.append(
        ("info", f"{profile.rows:,} rows, {len(profile.columns)} columns, {profile.batches} batches")
    )
    report.summary(items)
    shapes = {n: c.to_dict() for n, c in profile.columns.items()}
    rows = [
        [n, c.kind, c.count, c.nulls, c.distinct, *(shapes[n].get(k) for k in ("min", "max", "mean"))]
        for n, c in profile.columns.items()
    ]
    report.section(
        "Columns", table(["column", "kind", "count", "nulls", "distinct", "min", "max", "mean"], rows)
    )
    if profile.label:
        balance = profile.class_balance()
        report.section(
            f"Class balance of {profile.label}",
            bar_chart(list(balance), list(balance.values()), title="share of rows"),
        )
    for name, c in profile.columns.items():
        report.section(name, _column_html(c))
    return report


def _column_html(c: ColumnProfile) -> str:
    parts = []
    edges, counts = c.histogram()
    what = "length" if c.kind == "string" else "value"
    if edges and c.kind != "boolean":
        parts.append(histogram(edges, counts, title=f"{c.name}: {what} histogram"))
    top = c.top()
    if top:
        labels = [str(fmt(v)) for v, _ in top]
        parts.append(bar_chart(labels, [n for _, n in top], title=f"{c.name}: most frequent values"))
    if c.text is not None:
        text = c.text.to_dict(c.values)
        classes = text["char_classes"]
        parts.append(bar_chart(list(classes), list(classes.values()), title=f"{c.name}: character classes"))
        parts.append(
            table(
                ["length min", "length max", "length mean", "tokens mean", "sampled values"],
                [
                    [
                        c.text.length_min,
                        c.text.length_max,
                        c.text.length_mean,
                        text["tokens_mean"],
                        c.text.sampled,
                    ]
                ],
            )
        )
    return "".join(parts) or "<p>No values.</p>"


def validation_report(result: ValidationResult, *, title: str = "Validation", subtitle: str = "") -> Report:
    """A validation as a report: errors and warnings first, then the anomalies as a table."""
    report = Report(title, subtitle or f"{result.rows:,} rows checked")
    items: list[tuple[Level, str]] = [
        (a.severity, f"{a.column or 'table'}: {a.check} — expected {a.expected}, observed {a.observed}")
        for a in result.anomalies
    ]
    if result.ok:
        items.append(("ok", "no error-level anomaly"))
    report.summary(items)
    rows = [
        [a.severity, a.column, a.check, str(a.expected), str(a.observed), ", ".join(map(str, a.examples))]
        for a in result.anomalies
    ]
    report.section(
        "Anomalies",
        table(["severity", "column", "check", "expected", "observed", "examples"], rows)
        if rows
        else "<p>None.</p>",
    )
    return report


def drift_report(drift: DriftReport, *, title: str = "Drift", subtitle: str = "") -> Report:
    """Drift as a report: drifted columns first, a chart of each column's distance, then bins and formulas."""
    report = Report(
        title, subtitle or f"reference {drift.reference_rows:,} rows, current {drift.current_rows:,}"
    )
    items: list[tuple[Level, str]] = [
        ("error", f"{n}: {c.metric} {c.value:.4g} > {c.threshold:g}")
        for n, c in drift.columns.items()
        if c.drifted
    ]
    items += [("error", f"{n}: missing from the current data") for n in drift.missing]
    if not items:
        items.append(("ok", f"no drift in {len(drift.columns)} columns"))
    report.summary(items)
    names = list(drift.columns)
    report.section(
        "Drift per column (value ÷ threshold)",
        bar_chart(
            names,
            [c.value / c.threshold if c.threshold else c.value for c in drift.columns.values()],
            title="1.0 = threshold",
            highlight=set(drift.drifted),
        ),
    )
    rows = [
        [n, c.kind, c.metric, c.value, c.threshold, "yes" if c.drifted else "no", c.p_value, c.p_adjusted]
        for n, c in drift.columns.items()
    ]
    report.section(
        "Summary table",
        table(["column", "kind", "metric", "value", "threshold", "drifted", "p", "p adjusted"], rows),
    )
    formulas = "".join(f"<li><code>{html.escape(f)}</code></li>" for f in FORMULAS.values())
    report.section("Formulas", f"<ul>{formulas}</ul>")
    for name in sorted(names, key=lambda n: not drift.columns[n].drifted):
        c = drift.columns[name]
        shares = table(
            ["bin", "reference", "current"],
            [[b, round(r, 6), round(x, 6)] for b, r, x in zip(c.bins, c.reference, c.current, strict=True)],
        )
        chart = bar_chart(
            [f"{b} (ref)" if i % 2 else b for b in c.bins for i in (0, 1)],
            [v for pair in zip(c.current, c.reference, strict=True) for v in pair],
            title=f"{name}: current vs (ref) shares",
        )
        distances = ", ".join(f"{k} {v:.4g}" for k, v in c.distances.items())
        report.section(
            f"{name} ({'drifted' if c.drifted else 'stable'})",
            f"<p>{html.escape(distances)}</p>" + chart + shares,
        )
    return report


def monitor_report(result: MonitorReport, *, title: str = "Monitoring") -> Report:
    """A monitoring run as a report: alerts per batch first, then each batch's findings."""
    report = Report(
        title, f"{len(result.batches)} batches against a reference of {result.reference_rows:,} rows"
    )
    items: list[tuple[Level, str]] = []
    for b in result.batches:
        for f in b.failures:
            items.append(
                (f.severity, f"{b.name}: {f.check} {f.column} (observed {f.observed})".replace("  ", " "))
            )
        if b.validation is not None and not b.validation.ok:
            items.append(("error", f"{b.name}: {b.validation.errors} contract errors"))
        if b.drift and b.drift.drifted:
            items.append(("error", f"{b.name}: drift in {', '.join(b.drift.drifted)}"))
        if not b.alert:
            items.append(("ok", f"{b.name}: {b.rows:,} rows, no alert"))
    report.summary(items)
    report.section(
        "Batches",
        bar_chart(
            [b.name for b in result.batches],
            [b.rows for b in result.batches],
            title="rows per batch",
            highlight={b.name for b in result.batches if b.alert},
        ),
    )
    for b in result.batches:
        if b.drift is not None:
            report.section(f"{b.name}: drift", _drift_table(b.drift))
    return report


def _drift_table(drift: DriftReport) -> str:
    rows = [
        [n, c.metric, c.value, c.threshold, "yes" if c.drifted else "no"] for n, c in drift.columns.items()
    ]
    return table(["column", "metric", "value", "threshold", "drifted"], rows)
