"""In a real browser at 1366×768: the English switch on the inbox, and the keyboard's way in (skip link)."""

from tests.browser.conftest import log_in
from tests.conftest import DEMO_PASSWORD


def test_switch_to_english_on_the_inbox_and_back(page, expect, screenshot) -> None:  # type: ignore[no-untyped-def]
    log_in(page, "gat_reviewer", DEMO_PASSWORD)
    nav = page.get_by_role("navigation", name="主导航")
    expect(nav.get_by_role("link", name="我的待办")).to_be_visible()
    screenshot("chinese")

    page.get_by_role("button", name="English").click()
    page.wait_for_url("**/tasks")
    nav = page.get_by_role("navigation", name="Main navigation")
    expect(nav.get_by_role("link", name="Inbox")).to_be_visible()
    expect(nav.get_by_role("link", name="Share requests")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    screenshot("english")

    page.reload()  # the choice is kept, not a one-page effect
    expect(page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Inbox")).to_be_visible()

    page.get_by_role("button", name="中文").click()
    page.wait_for_url("**/tasks")
    expect(page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的待办")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")


def test_the_first_tab_reaches_the_skip_link_and_enter_moves_to_the_content(page, expect, screenshot) -> None:  # type: ignore[no-untyped-def]
    log_in(page, "gat_reviewer", DEMO_PASSWORD)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="跳到正文")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()  # hidden until focused, then shown
    screenshot("skip-link")
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    # The next Tab goes into the content, past the header's links.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('main') !== null")


def test_the_translated_pages_read_english(page, expect, screenshot) -> None:  # type: ignore[no-untyped-def]
    log_in(page, "demo_admin", DEMO_PASSWORD)
    page.get_by_role("button", name="English").click()
    page.wait_for_url("**/tasks")
    for url, heading in (("/supervision", "Supervision items"), ("/authority", "Authority desk"),
                         ("/admin/calendar", "Statutory working calendar"), ("/designer", "Process design"),
                         ("/open-lists", "Government open-data list"), ("/disputes", "Sharing disputes"),
                         ("/rectification-notices", "Rectification notices")):
        page.goto(url)
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        screenshot(url.strip("/").replace("/", "-"))
    page.goto("/login")  # logged in: /login still renders; the switch follows the user
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_the_inbox_and_a_task_page_read_english_and_back(page, expect, screenshot, as_user) -> None:  # type: ignore[no-untyped-def]
    from tests.api.helpers import review_task, submit

    request = submit(as_user("rst_clerk"))
    task = review_task(as_user("gat_reviewer"), request["instance_id"])
    log_in(page, "gat_reviewer", DEMO_PASSWORD)
    page.get_by_role("button", name="English").click()
    page.wait_for_url("**/tasks")
    for tab, words in (("todo", "To do"), ("done", "Done"), ("initiated", "Started by me"), ("cc", "Copied to me")):
        expect(page.locator(f"a[data-tab={tab}]")).to_contain_text(words)
    expect(page.locator("a[data-tab=todo]")).not_to_contain_text("待办")
    expect(page.get_by_role("button", name="Filter", exact=True)).to_be_visible()
    screenshot("inbox-english")

    page.goto(f"/tasks/{task['id']}")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("group").filter(has_text="Return to applicant for supplement")).to_be_visible()
    page.get_by_role("button", name="Claim", exact=True).click()
    for name in ("Unclaim", "Submit", "Post comment", "Upload attachment"):
        expect(page.get_by_role("button", name=name, exact=True).first).to_be_visible()
    expect(page.get_by_text("Claimed by", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Print approval sheet")).to_be_visible()
    expect(page.get_by_role("heading", name="Handle", exact=True)).to_be_visible()
    screenshot("task-english")

    page.get_by_role("button", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("button", name="取消签收", exact=True)).to_be_visible()
    page.goto("/tasks")
    for tab, words in (("todo", "待办"), ("done", "已办"), ("initiated", "我发起的"), ("cc", "抄送我的")):
        expect(page.locator(f"a[data-tab={tab}]")).to_contain_text(words)
