"""In a real browser at 1366×768: a dispute negotiated over ten rounds shows the latest 20 entries of its
file and of its 流转记录; 「更早的记录」 puts the earlier ones in place, without leaving the page."""

from __future__ import annotations

from tests.browser.conftest import log_in
from tests.conftest import DEMO_PASSWORD
from tests.disputes.helpers import NOT_SHARE, open_dispute, refused_request, step


def test_earlier_records_load_in_place(page, expect, screenshot, as_user) -> None:  # type: ignore[no-untyped-def]
    sr = refused_request(as_user)
    clerk, reviewer = as_user("rst_clerk"), as_user("gat_reviewer")
    d = open_dispute(clerk, sr["id"])
    for n in range(10):
        step(reviewer, d["id"], "provider-position", {**NOT_SHARE, "position": f"第{n + 1}轮：仍不同意"})
        step(clerk, d["id"], "requester-reply", {"response": "continue", "position": f"第{n + 1}轮：请再考虑"})

    log_in(page, "rst_clerk", DEMO_PASSWORD)
    page.goto(f"/disputes/{d['id']}")
    records = page.locator("#records ol.trail")
    expect(records.locator("li:not(.earlier)")).to_have_count(20)
    expect(records).not_to_contain_text("提起争议")
    more = records.get_by_role("link", name="更早的记录")
    more.scroll_into_view_if_needed()
    screenshot("records-latest")
    more.click()
    expect(records.locator("li")).to_have_count(21)  # the opening entry in place of the link
    expect(records.locator("li").first).to_contain_text("提起争议")
    expect(records.get_by_role("link", name="更早的记录")).to_have_count(0)
    assert page.url.endswith(f"/disputes/{d['id']}")  # still the dispute's page
    records.locator("li").first.scroll_into_view_if_needed()
    screenshot("records-all")

    history = page.locator("#history ol.trail")
    expect(history.locator("li:not(.earlier)")).to_have_count(20)
    clicks = 0
    while history.get_by_role("link", name="更早的记录").count():
        shown = history.locator("li:not(.earlier)").count()
        history.get_by_role("link", name="更早的记录").click()
        expect(history.locator("li:not(.earlier)")).not_to_have_count(shown)
        clicks += 1
    assert clicks == 2  # some 47 lines: 20 + 20 + the rest
    expect(history.locator("li").first).to_contain_text("提起共享争议")
    history.locator("li").first.scroll_into_view_if_needed()
    screenshot("history-all")
