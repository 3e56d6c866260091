from pathlib import Path
from typing import cast

import pytest
from PIL import Image

from datawheel import ReadOptions, Workspace, ingest
from datawheel.pipeline._clean import dedup_dataset
from datawheel.pipeline._release import release

from ..conftest import BrowserPage

SMS = ReadOptions(has_header=False, columns=("label", "text"), quote_char=None)


@pytest.mark.slow
@pytest.mark.parametrize("database_url", [None], indirect=False)
def test_release_pages_open_in_chromium(
    browser_page: BrowserPage, workspace: Workspace, sms_file: Path, tmp_path: Path
) -> None:
    ingest(workspace, sms_file, name="sms", format="tsv", options=SMS)
    dedup_dataset(workspace, "sms", column="text", exact=True)
    bundle = release(workspace, "v1", datasets=["sms", "sms.removed"]).bundle
    for page, expect in [
        ("datasheet.html", "Collection process"),
        ("quality.html", "What was removed or set aside"),
        ("lineage.html", "sms@2"),
    ]:
        browser_page.open((bundle / page).as_uri())
        assert expect in browser_page.page.inner_text("body")
        shot = browser_page.screenshot(tmp_path / f"{page}.png")
        with Image.open(shot) as image:
            darkest, lightest = cast(tuple[int, int], image.convert("L").getextrema())
        assert darkest < 100 < lightest, f"{page} rendered blank"
    assert browser_page.page.locator("svg rect").count() >= 5
    assert browser_page.errors == []
