"""The harness itself: the real login form, the language switch, screenshots and the console-error watch."""

import pytest

from tests.browser.conftest import switch_language


def test_login_through_the_admin_form_lands_on_the_admin(browser_page, screenshot):
    assert browser_page.locator("#user-tools").inner_text().upper().find("BROWSER-ADMIN") >= 0
    assert screenshot(browser_page, "admin-index").stat().st_size > 0


def test_language_switch_turns_the_admin_russian(browser_page):
    browser_page.goto("/admin/")
    switch_language(browser_page, "ru")
    assert browser_page.locator("html").get_attribute("lang") == "ru"
    assert "Администрирование" in browser_page.content()


def test_a_page_error_is_collected(anonymous_page):
    anonymous_page.goto("/admin/login/")
    with anonymous_page.expect_event("pageerror"):
        anonymous_page.evaluate("setTimeout(() => { throw new Error('boom from the page'); }, 0)")
    assert any("boom from the page" in error for error in anonymous_page.console_errors)
    anonymous_page.console_errors.clear()  # seen: this test is about collecting, not failing


@pytest.mark.parametrize("path", ["/admin/login/"])
def test_the_login_page_has_no_console_errors(anonymous_page, path):
    anonymous_page.goto(path)
    assert anonymous_page.console_errors == []
