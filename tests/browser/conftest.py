"""The browser-test harness: Playwright for Python driving Debian's Chromium against pytest-django's
`live_server`.

- `browser_page`: a Playwright sync `Page`, logged in as a superuser through the real admin login form.
  Console errors, uncaught page errors and Content-Security-Policy violations (each page's
  `securitypolicyviolation` events, whether or not the browser also logs them) are collected; the test fails
  at teardown if there were any.
- `screenshot(page, name)`: writes test-results/screenshots/<name>.png.
- `switch_language(page, code)` (and the `ru_page` fixture): changes language through the language switch
  every page carries, the way a user does.
- `browser_clickhouse`: the tests' ClickHouse target, migrated and empty, for pages that read it.

Every test here is marked `browser` and runs in a transactional database over both aliases (the live
server's thread must see the rows the test writes). Playwright's own browser download cannot work on these
machines: the tests launch /usr/bin/chromium (Debian's package, installed by .ci/run) and fail with a clear
message when it is missing, unless ETL_SKIP_BROWSER=1 asks to skip them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a thread with a
# running loop unless told that this is deliberate (the test and the loop never run ORM calls concurrently).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path(os.environ.get("ETL_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"
USERNAME = "browser-admin"
PASSWORD = "browser-password-1"  # noqa: S105 - a throwaway user in the test database
# Console errors from these URLs are not a page's error (none: /favicon.ico answers since issue 16).
IGNORED_CONSOLE: tuple[str, ...] = ()
# Runs in every page and frame before its own scripts: each CSP violation is reported through a binding.
CSP_WATCH = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportCspViolation(`${event.violatedDirective} blocked ${event.blockedURI || "inline"} `
                            + `(${event.sourceFile || document.location.href}:${event.lineNumber})`);
});
"""


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)
            if item.get_closest_marker("django_db") is None:
                item.add_marker(pytest.mark.django_db(transaction=True, databases="__all__"))


@pytest.fixture(scope="session")
def chromium():
    """One Chromium for the session (a launch costs about a second)."""
    if os.environ.get("ETL_SKIP_BROWSER") == "1":
        pytest.skip("ETL_SKIP_BROWSER=1: browser tests skipped")
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's Chromium (`apt-get install -y chromium`, as .ci/run "
                    f"does) or set ETL_SKIP_BROWSER=1 to skip the browser tests", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            # Containers and CI runners often have a tiny /dev/shm and no user namespaces.
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        yield browser
        browser.close()


@pytest.fixture
def browser_user(django_user_model):
    return django_user_model.objects.create_superuser(USERNAME, "browser@example.com", PASSWORD)


@pytest.fixture
def anonymous_page(chromium, live_server):
    """A fresh browser context (own cookies) on the live server, with console and page errors collected."""
    context = chromium.new_context(base_url=live_server.url, locale="en-US", viewport={"width": 1280, "height": 900})
    # Bounds for waiting on a busy (2-core, shared) machine; no test measures speed.
    context.set_default_timeout(30_000)
    context.set_default_navigation_timeout(60_000)
    errors: list[str] = []
    context.expose_binding("reportCspViolation",
                           lambda source, text: errors.append(f"CSP violation on {source['page'].url}: {text}"))
    context.add_init_script(CSP_WATCH)
    page = context.new_page()

    def on_console(message):
        if message.type == "error" and not any(part in (message.location or {}).get("url", "")
                                               for part in IGNORED_CONSOLE):
            errors.append(f"console error on {page.url}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(f"page error on {page.url}: {error}"))
    page.console_errors = errors
    yield page
    context.close()
    if errors:
        pytest.fail("The browser reported errors:\n" + "\n".join(errors), pytrace=False)


def log_in(page, username: str = USERNAME, password: str = PASSWORD) -> None:
    """Log in through the admin's own login form, as a person would."""
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("#login-form [type=submit]")
    if page.locator("#login-form").count():
        errors = page.locator(".errornote, .errorlist").all_inner_texts()
        pytest.fail(f"Logging in as {username} failed: {' '.join(errors) or page.url}", pytrace=False)


@pytest.fixture
def browser_page(anonymous_page, browser_user):
    log_in(anonymous_page)
    return anonymous_page


def wait_until(page, expression: str, timeout: float = 30_000) -> None:
    """Wait until the JavaScript `expression` is true in the page. Playwright's wait_for_function compiles its
    predicate with eval, which the pages' Content-Security-Policy refuses; page.evaluate is not affected."""
    import time

    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise TimeoutError(f"Still false after {timeout / 1000:.0f} s: {expression}")
        page.wait_for_timeout(200)


def switch_language(page, code: str) -> None:
    """Follow the language switch's link to `code`; waits for the reloaded page."""
    with page.expect_navigation():
        page.locator(f".language-switch a[lang={code}]").first.click()


@pytest.fixture
def ru_page(browser_page):
    """`browser_page`, switched to Russian through the language switch."""
    browser_page.goto("/admin/")
    switch_language(browser_page, "ru")
    return browser_page


def take_screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def screenshot():
    """`screenshot(page, name)` writes test-results/screenshots/<name>.png and returns its path."""
    return take_screenshot


@pytest.fixture
def browser_clickhouse(clickhouse):
    """The tests' ClickHouse target, migrated and empty (the live server runs in this process, so it sees
    the same settings)."""
    return clickhouse
