"""The upload page sizes a dropped file in the page's language (issue 16 leftovers: "445 B" on a Russian page),
with the same units as the server's sizes (etlsite.formatting.format_bytes)."""

import pytest

from tests.browser.conftest import switch_language
from tests.browser.test_upload import _drop_file


@pytest.mark.parametrize(("language", "small", "larger"), [("ru", "445\u00a0Б", "1,5\u00a0КБ"),
                                                           ("en", "445\u00a0B", "1.5\u00a0KB")])
def test_a_dropped_file_is_sized_in_the_page_language(browser_page, settings, tmp_path, language, small, larger):
    settings.MEDIA_ROOT = tmp_path / "media"
    page = browser_page
    page.goto("/upload/")
    if language == "ru":
        switch_language(page, "ru")
    header = "id,name\n"
    _drop_file(page, "small.csv", header + "1,a\n" * ((445 - len(header)) // 4) + "x" * ((445 - len(header)) % 4))
    _drop_file(page, "larger.csv", header + "1,a\n" * ((1536 - len(header)) // 4) + "x" * ((1536 - len(header)) % 4))
    sizes = page.locator(".upload-file .file-size")
    sizes.nth(1).wait_for()
    assert sizes.all_inner_texts() == [small, larger]
