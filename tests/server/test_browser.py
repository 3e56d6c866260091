"""The whole labelling path in real Chromium (Debian's, driven by Playwright) on a real uvicorn.

An admin creates a project from the SMS spam version with overlap 2 on the page, two annotators
label with the keyboard only, a reviewer resolves their disagreement, the admin exports, and
the label version appears in lineage. Screenshots of the annotating page and the dashboard are
saved (in the test's tmp_path, or ``DATAWHEEL_TEST_ARTIFACTS``) and checked.

Skipped, with the reason, where ``/usr/bin/chromium`` is missing — except under CI (``CI``
set), where that fails.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright
from tests.server.conftest import PASSWORDS, ROLES, XSS, LiveServer, sms_frame, start_server, stop_server

from datawheel.cli import main
from datawheel.server import create_app
from datawheel.workspace import Workspace

CHROMIUM = Path("/usr/bin/chromium")
VIEWPORT: ViewportSize = {"width": 1280, "height": 860}


@pytest.fixture
def browser_server(tmp_path: Path) -> Iterator[tuple[Workspace, LiveServer]]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing (CI must run the browser tests: apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests")
    from datawheel.pipeline._labelling_users import add_user

    with Workspace.init(tmp_path / "ws") as ws:
        ws.commit("sms", sms_frame(12))
        for name in ("boss", "ann", "bob", "rev"):
            add_user(ws, name, role=ROLES[name], password=PASSWORDS[name])
        live = start_server(create_app(ws))
        try:
            yield ws, live
        finally:
            stop_server(live)


def _artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("DATAWHEEL_TEST_ARTIFACTS") or tmp_path / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _sign_in(browser: Browser, url: str, name: str) -> Page:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.goto(f"{url}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORDS[name])
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")
    return page


def _label_with_keys(page: Page, keys: list[str], *, done: int = 0) -> None:
    for n, key in enumerate(keys, start=done + 1):
        page.keyboard.press(key)
        page.keyboard.press("Enter")
        expect(page.locator("#status")).to_contain_text(f"{n} submitted in this session")


def _check_screenshot(path: Path) -> None:
    assert path.stat().st_size > 10_000  # a real page, not a blank image
    with Image.open(path) as image:
        assert image.size == (VIEWPORT["width"], VIEWPORT["height"])
        assert sum(1 for n in image.convert("L").histogram() if n) > 8  # text and colours, not one flat fill


@pytest.mark.slow
def test_the_whole_labelling_path_in_chromium(
    browser_server: tuple[Workspace, LiveServer], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws, live = browser_server
    shots = _artifacts(tmp_path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        # 1. the admin creates the project from the SMS version, overlap 2
        boss = _sign_in(browser, live.url, "boss")
        boss.fill("#new-project input[name=name]", "sms-spam")
        boss.fill("#new-project input[name=source]", "sms@1")
        boss.fill("#new-project input[name=column]", "text")
        boss.fill("#new-project textarea[name=labels]", "ham\nspam")
        boss.fill("#new-project input[name=overlap]", "2")
        boss.fill("#new-project input[name=members]", "ann, bob, rev")
        boss.fill("#new-project textarea[name=guidelines]", "# Spam\n**spam**: unsolicited offers.")
        boss.click("#new-project button[type=submit]")
        expect(boss.locator(".notice")).to_contain_text("project sms-spam created with 12 items")

        # 2. two annotators label with the keyboard; they disagree on the first item
        ann = _sign_in(browser, live.url, "ann")
        ann.goto(f"{live.url}/projects/sms-spam/annotate")
        expect(ann.locator("#item")).to_have_text(XSS)
        assert ann.title() != "pwned"
        assert ann.locator("#item script, #item img").count() == 0
        expect(ann.locator(".guidelines h1")).to_have_text("Spam")
        ann.keyboard.press("2")
        expect(ann.locator("button.label.chosen")).to_have_attribute("data-label", "spam")
        ann.screenshot(path=str(shots / "annotate.png"))
        ann.keyboard.press("Enter")
        expect(ann.locator("#status")).to_contain_text("1 submitted in this session")
        _label_with_keys(ann, ["1", "1"], done=1)
        bob = _sign_in(browser, live.url, "bob")
        bob.goto(f"{live.url}/projects/sms-spam/annotate")
        expect(bob.locator("#item")).to_have_text(XSS)
        _label_with_keys(bob, ["1", "1", "1"])

        # 3. the reviewer resolves the disagreement with a key
        rev = _sign_in(browser, live.url, "rev")
        rev.goto(f"{live.url}/projects/sms-spam/review")
        expect(rev.locator("#status")).to_contain_text("1 item(s) to review")
        expect(rev.locator(".review-item .answers li")).to_have_count(2)
        rev.keyboard.press("2")
        expect(rev.locator("#status")).to_contain_text("0 item(s) to review")

        # 4. the dashboard shows the work; the admin exports
        boss.goto(f"{live.url}/projects/sms-spam/dashboard")
        expect(boss.locator("#annotations")).to_have_text("6")
        expect(boss.locator("#items-done")).to_have_text("3")
        expect(boss.locator("#annotators tbody tr")).to_have_count(2)
        expect(boss.locator("#balance .bar-row")).to_have_count(2)
        boss.screenshot(path=str(shots / "dashboard.png"))
        boss.click("#export")
        expect(boss.locator(".notice")).to_contain_text(
            "exported sms-spam.annotations@1 and sms-spam.labels@1"
        )
        browser.close()

    _check_screenshot(shots / "annotate.png")
    _check_screenshot(shots / "dashboard.png")
    labels = ws.read("sms-spam.labels@1")
    assert sorted(labels["how"].to_list()) == ["reviewer", "unanimous", "unanimous"]
    assert main(["-C", str(ws.root), "lineage", "sms-spam.labels", "--upstream", "--format", "json"]) == 0
    walked = json.loads(capsys.readouterr().out)
    names = {node["name"] for node in walked["nodes"]}
    assert {"sms-spam.labels@1", "label-export", "sms-spam", "label-project", "sms@1"} <= names
