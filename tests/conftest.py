"""Shared fixtures: workspaces on SQLite and on the real PostgreSQL server, and sample files.

PostgreSQL tests use ``DATAWHEEL_TEST_POSTGRES_URL`` (default: the server on 127.0.0.1:5432,
database ``test``), each in a schema of its own that is dropped afterwards. Where no server
answers they skip and say why — except under CI (``CI`` set), where they fail, because CI must
run them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import settings

from datawheel.demo import DEMO_DATA
from datawheel.workspace import Workspace

# Tests check results; timings belong in benchmarks/. On a shared 2-core machine one example
# can take ten times another, so Hypothesis's per-example deadline only makes tests flaky.
settings.register_profile("datawheel", deadline=None)
settings.load_profile("datawheel")

POSTGRES_URL = os.environ.get("DATAWHEEL_TEST_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test")
_postgres_problem: list[str] = []


def _postgres_available() -> str | None:
    if not _postgres_problem:
        try:
            engine = sa.create_engine(POSTGRES_URL)
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            engine.dispose()
            _postgres_problem.append("")
        except Exception as exc:  # any failure to connect means "no server here"
            _postgres_problem.append(f"no PostgreSQL at {POSTGRES_URL}: {str(exc).splitlines()[0]}")
    return _postgres_problem[0] or None


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped after the test."""
    problem = _postgres_available()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"{problem} (CI must run the PostgreSQL tests)")
        pytest.skip(problem)
    schema = f"dw_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    """``None`` (the default SQLite of the workspace) or a PostgreSQL URL."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def workspace(tmp_path: Path, database_url: str | None) -> Iterator[Workspace]:
    """A new, empty workspace in a temporary folder, on SQLite and on PostgreSQL."""
    with Workspace.init(tmp_path / "ws", database_url=database_url) as ws:
        yield ws


@pytest.fixture
def sms_file(tmp_path: Path) -> Path:
    """A copy of the SMS Spam Collection (CC BY 4.0, shipped with the demo)."""
    target = tmp_path / "SMSSpamCollection"
    target.write_bytes(DEMO_DATA.read_bytes())
    return target


CHROMIUM = Path("/usr/bin/chromium")


@dataclass
class BrowserPage:
    """A page in real Chromium, with the console errors and failed requests it met."""

    page: Any
    errors: list[str]

    def open(self, url: str) -> None:
        """Load ``url`` and wait until the network is idle."""
        self.page.goto(url, wait_until="networkidle")

    def screenshot(self, path: Path) -> Path:
        """Save a full-page screenshot; return its path."""
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def browser_page() -> Iterator[BrowserPage]:
    """A headless Chromium page (Debian's chromium, driven by Playwright).

    Skips, saying why, when Chromium is missing, except under CI, which must run browser tests.
    """
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing (CI must run the browser tests; scripts/test installs it)")
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
        yield BrowserPage(page, errors)
        browser.close()
