"""The API documentation pages render on an intranet: every asset comes from our own server (issue 11)."""

from __future__ import annotations

from typing import Any

import pytest


def _requests_to_others(page: Any, live_server: str) -> list[str]:
    """Record every request the page makes to any host but ours; refuse it, as a closed intranet would."""
    outside: list[str] = []

    def route(r: Any) -> None:
        if r.request.url.startswith(live_server):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return outside


@pytest.mark.parametrize(("path", "ready"), [
    ("/docs", ".swagger-ui .opblock-tag"),
    ("/redoc", "[role=menuitem]"),
], ids=["swagger-ui", "redoc"])
def test_api_docs_render_offline(page, expect, screenshot, live_server, path, ready) -> None:  # type: ignore[no-untyped-def]
    outside = _requests_to_others(page, live_server)
    page.goto(path)
    expect(page.locator(ready).first).to_be_visible()
    if path == "/docs":
        # Swagger UI lists the tags collapsed (with ~160 operations expanded it stopped after the first
        # two tags); every tag is there, and one opens on a click.
        expect(page.locator("#operations-tag-desk")).to_be_visible()  # the last tag of the spec
        page.locator("#operations-tag-sharing").click()
    # The operations of our own API are listed, read from /openapi.json.
    expect(page.get_by_text("/api/share-requests").first).to_be_attached()
    screenshot(path.strip("/"))
    assert outside == []


def test_docs_html_names_no_outside_host(client) -> None:  # type: ignore[no-untyped-def]
    for path in ("/docs", "/redoc"):
        html = client.get(path).text
        assert "/static/vendor/apidocs/" in html
        assert "http://" not in html and "https://" not in html, path
