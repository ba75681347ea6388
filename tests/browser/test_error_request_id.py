"""In a real browser at 1366×768: a page that is not found shows the request id a clerk quotes to the
administrator (issue 13), the server's own id, matching the response header and the access log."""

from __future__ import annotations

import re


def test_the_404_page_shows_the_request_id_to_quote(page, expect, screenshot) -> None:  # type: ignore[no-untyped-def]
    response = page.goto("/tasks/no-such-page/at-all")
    assert response is not None and response.status == 404
    request_id = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    expect(page.get_by_role("heading", name="未找到")).to_be_visible()
    quote = page.locator(".request-id")
    expect(quote).to_have_text(f"请求编号：{request_id}（联系管理员时请提供）")
    expect(quote).to_be_in_viewport()
    screenshot("not-found")
