"""In a real browser at 1366×768: a 待办 list longer than a page shows 下一页, which keeps the filters and
the order, and 回到第一页 comes back; the tab badge stops at 99+."""

from __future__ import annotations

from datetime import timedelta

from tests.api.helpers import submit
from tests.api.test_task_list_paging import DAY, _add_tasks, _user
from tests.browser.conftest import log_in
from tests.conftest import DEMO_PASSWORD


def test_next_page_keeps_the_filters_and_the_first_page_comes_back(page, expect, screenshot, rt, as_user) -> None:  # type: ignore[no-untyped-def]
    instance_id = submit(as_user("rst_clerk"))["instance_id"]
    me = _user(rt, "gat_reviewer")
    # 105 steps to review (100 a page), deadlines a day apart; the submitted case's own task is filtered out.
    _add_tasks(rt, instance_id, [DAY + timedelta(days=n % 20) for n in range(105)], department_id=me.department_id)
    log_in(page, "gat_reviewer", DEMO_PASSWORD)
    expect(page.locator("a[data-tab=todo] .badge")).to_have_text("99+")
    page.get_by_label("关键词").fill("补充")
    page.get_by_label("排序").select_option("due_at")
    page.get_by_role("button", name="筛选").click()
    rows = page.locator("tr[data-task]")
    expect(rows).to_have_count(100)
    expect(page.get_by_role("link", name="回到第一页")).to_have_count(0)
    first_ids = rows.evaluate_all("rows => rows.map(r => r.dataset.task)")
    page.get_by_role("link", name="下一页").scroll_into_view_if_needed()
    screenshot("first-page-bottom")
    page.get_by_role("link", name="下一页").click()
    expect(rows).to_have_count(5)
    assert "q=%E8%A1%A5%E5%85%85" in page.url and "sort=due_at" in page.url
    expect(page.get_by_label("关键词")).to_have_value("补充")
    expect(page.get_by_role("link", name="下一页")).to_have_count(0)
    # The last page holds the latest deadlines (day 19 of 20), none seen on the first page.
    expect(rows.first).to_contain_text("2026-11-29")
    second_ids = rows.evaluate_all("rows => rows.map(r => r.dataset.task)")
    assert not set(first_ids) & set(second_ids)
    screenshot("second-page")
    page.get_by_role("link", name="回到第一页").click()
    expect(rows).to_have_count(100)
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.task)") == first_ids
