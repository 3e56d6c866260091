import os
import re
from pathlib import Path

import polars as pl
import pytest

from datawheel.report import Report, bar_chart, heatmap, histogram, line_chart, table
from datawheel.validate import compare_profiles, drift_report, profile, profile_report

CHROMIUM = Path("/usr/bin/chromium")


def test_summary_puts_errors_first_and_escapes_text() -> None:
    report = Report("<Title>", "sub & title")
    report.summary(
        [("ok", "fine"), ("info", "note"), ("error", "<script>alert(1)</script>"), ("warning", "meh")]
    )
    page = report.render()
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    levels = re.findall(r'<li class="(\w+)">', page)
    assert levels == ["error", "warning", "info", "ok"]
    assert "&lt;Title&gt;" in page
    with pytest.raises(ValueError, match="summary level"):
        report.summary([("fatal", "x")])  # type: ignore[list-item]


def test_charts_are_svg_with_escaped_labels() -> None:
    charts = [
        bar_chart(["<a>", "b"], [1.0, -2.0], title="bars", highlight={"b"}),
        histogram([0, 1, 2], [3, 4], title="hist", compare=[4, 3]),
        line_chart(
            {"<train>": ([1, 2, 3], [0.1, 0.5, float("nan")])}, title="curve", x_label="n", y_label="acc"
        ),
        heatmap(["<r>"], ["c1", "c2"], [[1, 2]], title="heat"),
    ]
    for svg in charts:
        assert svg.startswith("<svg")
        assert svg.endswith("</svg>")
        assert "<a>" not in svg
        assert "<train>" not in svg
        assert "<r>" not in svg
    assert "&lt;a&gt;" in charts[0]
    assert "#c0392b" in charts[0]  # the highlighted bar
    assert charts[2].count("<circle") == 2  # the NaN point is left out
    assert table(["a"], [["<b>"], [1234]]).count("<tr>") == 3
    with pytest.raises(ValueError, match="len"):
        histogram([0, 1], [1, 2])


def test_write_makes_a_small_self_contained_file(tmp_path: Path) -> None:
    frame = pl.DataFrame({f"c{i}": [float(j * i) for j in range(500)] for i in range(20)})
    path = profile_report(profile(frame)).write(tmp_path / "out" / "profile.html")
    page = path.read_text(encoding="utf-8")
    assert path.stat().st_size < 2_000_000
    assert "<script" not in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page
    assert page.count("<svg") >= 20


def test_report_opens_in_chromium_without_console_errors(tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing (CI must run the browser test)")
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from PIL import Image
    from playwright.sync_api import sync_playwright

    reference = pl.DataFrame({"x": [float(i % 100) for i in range(1000)], "c": ["a", "b"] * 500})
    current = reference.with_columns(pl.col("x") + 40)
    report = drift_report(compare_profiles(profile(reference), profile(current)), title="Drift test")
    page_path = report.write(tmp_path / "drift.html")
    shot = tmp_path / "shot.png"
    messages: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = browser.new_page()
            page.on(
                "console", lambda m: messages.append(f"{m.type}: {m.text}") if m.type == "error" else None
            )
            page.on("pageerror", lambda e: messages.append(str(e)))
            page.goto(page_path.as_uri())
            charts = page.locator("svg.chart").count()
            summary = page.locator("ul.summary li.error").first.inner_text()
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert messages == []
    assert charts >= 3
    assert "x: psi" in summary
    image = Image.open(shot).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 10  # not a blank page
