"""Browser tests: the app served by uvicorn on the test's database, driven by Chromium through Playwright.

The browser is the system's Chromium (Debian package `chromium`; GOVFLOW_CHROMIUM names another
binary): Playwright's own browser download is not available to us. Without it the tests are skipped
on a developer machine and FAIL under CI (CI=true), so a missing browser never passes silently.
Pages are seen at 1366×768, the commonest office screen; screenshots go to GOVFLOW_SCREENSHOT_DIR,
or to the test's tmp folder.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

CHROMIUM = os.environ.get("GOVFLOW_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
VIEWPORT = {"width": 1366, "height": 768}


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run under CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Launch headless Chromium once per test process."""
    if not Path(CHROMIUM).is_file():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set GOVFLOW_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is missing (make install-test)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


@pytest.fixture
def live_server(app, client) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Serve the test's app over HTTP on a free local port; return its base URL.

    `client` has already run the app's start-up, so uvicorn runs without lifespan. The socket listens
    before the server thread starts: the browser's first request waits in the backlog, not on a sleep.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.fixture
def page(browser, live_server: str) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """A fresh browser context (no cookies) at 1366×768, Chinese locale, addressed relative to the app."""
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", base_url=live_server)
    context.set_default_timeout(15_000)  # an upper bound for auto-waiting, never a pause
    # The same bound for expect(...) assertions (Playwright's default, 5 s, is short on a loaded CI machine).
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def expect(browser) -> Any:  # type: ignore[no-untyped-def]
    """Playwright's auto-waiting assertions (imported once the browser is known to be there)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


@pytest.fixture
def screenshot(page, request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], Path]:  # type: ignore[no-untyped-def]
    """shot('after-claim') -> the PNG of the current viewport, named after the test."""
    folder = Path(os.environ.get("GOVFLOW_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)

    def shot(name: str) -> Path:
        path = folder / f"{request.node.name}-{name}.png"
        for attempt in range(3):
            try:
                page.screenshot(path=str(path))
                break
            except Exception as error:
                # Chromium now and then refuses a capture while it repaints (seen once in CI on a loaded
                # host: "Protocol error (Page.captureScreenshot): Unable to capture screenshot"): the page is
                # fine, the picture is taken again after a frame or two. Any other error fails the test.
                if "Unable to capture screenshot" not in str(error) or attempt == 2:
                    raise
                page.wait_for_timeout(200)
        request.node.user_properties.append(("screenshot", str(path)))  # counted in the run's summary
        return path
    return shot


def log_in(page: Any, username: str, password: str) -> None:
    """Log in through the login form, as a person would."""
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/tasks")
