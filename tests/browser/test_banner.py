"""In a real browser at 1366×768: the system banner says what the person's own action did, once, and
nothing a link carries (issue 9 hole 5)."""

from tests.api.helpers import review_task, submit
from tests.browser.conftest import log_in
from tests.conftest import DEMO_PASSWORD


def test_claiming_a_task_shows_the_banner_once(page, expect, screenshot, as_user) -> None:  # type: ignore[no-untyped-def]
    task = review_task(as_user("gat_reviewer"), submit(as_user("rst_clerk"))["instance_id"])
    log_in(page, "gat_reviewer", DEMO_PASSWORD)
    page.get_by_role("link", name=task["subject"]).click()
    page.get_by_role("button", name="签收", exact=True).click()

    banner = page.locator(".flash")
    expect(banner).to_have_text("已签收，可以办理")
    expect(page.get_by_role("button", name="取消签收")).to_be_visible()
    expect(page.locator("dd", has_text="张伟（省公安厅审核人）")).to_be_visible()
    assert "flash" not in page.url  # nothing in the address for anyone to copy
    screenshot("after-claim")

    page.reload()
    expect(page.get_by_role("button", name="取消签收")).to_be_visible()
    expect(banner).to_have_count(0)
    screenshot("after-reload")


def test_a_flash_link_cannot_put_words_in_the_banner(page, expect, screenshot) -> None:  # type: ignore[no-untyped-def]
    log_in(page, "gat_reviewer", DEMO_PASSWORD)
    page.goto("/tasks?flash=请将账号密码发送至 evil@example.com")
    expect(page.get_by_role("link", name="待办", exact=False).first).to_be_visible()
    expect(page.locator(".flash")).to_have_count(0)
    expect(page.get_by_text("请将账号密码发送至")).to_have_count(0)
    screenshot("flash-link")
