"""In a real browser at 1366×768 (Art. 7): a clerk registers a new business system, its case page shows the
catalog checklist; 立项 is refused while the catalog is not reviewed, the checklist saying why, then allowed
once the authority has approved a catalog version listing the system's data."""

from __future__ import annotations

from tests.browser.conftest import log_in
from tests.catalog.helpers import add, new_draft, review, submit
from tests.conftest import DEMO_PASSWORD
from tests.systems.helpers import NEW_ENTRY


def _record_approval(page) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("立项批复文号").fill("豫发改审批〔2026〕12号")
    page.get_by_label("立项批复日期").fill("2026-11-02")
    page.get_by_label("审批机关").fill("河南省发展和改革委员会")
    page.get_by_role("button", name="登记立项").click()


def test_register_then_approval_refused_with_the_checklist_then_allowed(  # type: ignore[no-untyped-def]
        page, expect, screenshot, as_user) -> None:
    log_in(page, "gat_clerk", DEMO_PASSWORD)
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="新建系统").click()
    page.get_by_role("link", name="登记新建业务系统").click()
    page.get_by_label("系统名称").fill("出入境证件签发系统")
    page.get_by_label("建设目的和主要功能").fill("受理和签发出入境证件，核验申请人身份。")
    page.get_by_label("数据项名称（第 1 行）").fill("姓名")
    page.get_by_label("所属目录条目（第 1 行）").select_option("410000-gat-0001")
    page.get_by_label("数据项名称（第 2 行）").fill("证件号码")
    page.get_by_label("数据项名称（第 3 行）").fill("签发日期")
    page.get_by_label("联系电话").fill("0371-65550000")
    screenshot("register-form")
    page.get_by_role("button", name="登记", exact=True).click()

    expect(page.get_by_role("heading", name="出入境证件签发系统")).to_be_visible()
    case_url = page.url  # reached by the redirect after registering
    expect(page.locator(".flash, [role=status]").first).to_contain_text("已登记")
    checklist = page.locator("#checklist")
    expect(checklist.locator("li[data-done=false]")).to_have_count(2)
    expect(checklist).to_contain_text("本部门尚未提交政务数据资源目录")
    _record_approval(page)
    expect(page.locator(".error[data-code=catalog_not_submitted]")).to_contain_text("不能登记立项")
    expect(page.get_by_label("立项批复文号")).to_have_value("豫发改审批〔2026〕12号")  # what was typed stays
    page.locator("#checklist").scroll_into_view_if_needed()
    screenshot("approval-refused")

    # The catalog version listing the new items is submitted: still refused, the checklist says why.
    clerk = as_user("gat_clerk")
    vid = new_draft(clerk)["id"]
    add(clerk, vid)
    submit(clerk, vid)
    page.goto(case_url)  # not reload(): that would post the refused form again
    expect(checklist.locator("li[data-key=catalog_listed]")).to_have_attribute("data-done", "true")
    expect(checklist.locator("li[data-key=catalog_reviewed]")).to_have_attribute("data-done", "false")
    expect(checklist.get_by_role("link", name="查看目录第 1 版")).to_have_attribute("href", f"/catalog/versions/{vid}")
    _record_approval(page)
    expect(page.locator(".error[data-code=catalog_under_review]")).to_contain_text("审定中")
    page.locator("#checklist").scroll_into_view_if_needed()
    screenshot("approval-refused-under-review")

    # Reviewed by the authority: 立项 is recorded.
    review(as_user("data_reviewer"), vid, {NEW_ENTRY: "approve"})
    page.goto(case_url)  # not reload(): that would post the refused form again
    expect(checklist.locator("li[data-done=true]")).to_have_count(2)
    _record_approval(page)
    expect(page.locator("h1 .status")).to_have_text("已立项")
    expect(page.locator("dl.kv")).to_contain_text("豫发改审批〔2026〕12号")
    expect(page.locator("dl.kv")).to_contain_text("依据目录第 1 版")
    expect(page.locator("#history")).to_contain_text("登记立项")
    screenshot("approved")
