"""In a real browser at 1366×768: the rough edges a new user found on the task, catalog and sharing pages
(issue 11) stay fixed: a refused answer keeps what was typed and the task's address, the catalog review
is a table with 全部通过, irreversible buttons ask first, and actions say what they did."""

from __future__ import annotations

import re

from tests.api.helpers import review_task, submit
from tests.browser.conftest import log_in
from tests.catalog.helpers import add, new_draft
from tests.catalog.helpers import submit as submit_version
from tests.conftest import DEMO_PASSWORD


def _in_view(page, selector: str) -> bool:  # type: ignore[no-untyped-def]
    box = page.locator(selector).first.bounding_box()
    return box is not None and 0 <= box["y"] < 768


def test_a_refused_answer_keeps_the_input_beside_the_field_and_the_tasks_address(
        page, expect, screenshot, as_user) -> None:  # type: ignore[no-untyped-def]
    task = review_task(as_user("gat_reviewer"), submit(as_user("rst_clerk"))["instance_id"])
    log_in(page, "gat_reviewer", DEMO_PASSWORD)
    page.goto(f"/tasks/{task['id']}")
    page.get_by_role("button", name="签收", exact=True).click()
    page.get_by_role("radio", name="不同意", exact=True).check()
    page.locator("#f_reason").fill("申请用途与数据内容不相关")
    page.get_by_role("button", name="提交").click()

    summary = page.locator("#form-errors")
    expect(summary).to_contain_text("不同意共享时必须提供依据")
    # The message stands beside the field it is about, the typed reason is still there, the field to fix
    # has the focus, and all of it is on screen at 1366×768.
    expect(page.locator("#f_legal_basis + .error")).to_have_text("不同意共享时必须提供依据（第十六条）")
    expect(page.locator("#f_reason")).to_have_value("申请用途与数据内容不相关")
    expect(page.get_by_role("radio", name="不同意", exact=True)).to_be_checked()
    expect(page.locator("#f_legal_basis")).to_be_focused()
    assert _in_view(page, "#f_legal_basis")
    assert re.search(rf"/tasks/{task['id']}$", page.url), page.url
    assert summary.get_attribute("data-code") == "refusal_basis_required"
    expect(page.get_by_text("refusal_basis_required")).to_have_count(0)  # the code never as text
    screenshot("refused")

    page.reload()  # a plain GET of the task page: no 405, no "resubmit the form?"
    expect(page.get_by_role("heading", name=task["name"])).to_be_visible()
    expect(summary).to_have_count(0)
    page.goto(f"/tasks/{task['id']}/complete")  # an old bookmark of the form's address
    assert re.search(rf"/tasks/{task['id']}$", page.url)
    expect(page.get_by_role("heading", name=task["name"])).to_be_visible()

    page.locator("#f_legal_basis").fill("《河南省政务数据管理办法》第十六条")
    page.get_by_role("radio", name="不同意", exact=True).check()
    page.locator("#f_reason").fill("申请用途与数据内容不相关")
    page.get_by_role("button", name="提交").click()
    expect(page.locator(".flash")).to_have_text(f"任务已办理：{task['name']}")
    screenshot("done")


def test_the_catalog_review_is_a_table_with_approve_all(page, expect, screenshot, as_user) -> None:  # type: ignore[no-untyped-def]
    clerk = as_user("gat_clerk")
    vid = new_draft(clerk)["id"]
    add(clerk, vid)
    add(clerk, vid, code="410000-gat-0101", name="机动车驾驶证信息")
    submit_version(clerk, vid)
    [task] = [t for t in as_user("data_reviewer").get("/api/tasks").json()["items"] if t["name"] == "审定政务数据资源目录"]
    log_in(page, "data_reviewer", DEMO_PASSWORD)
    page.goto(f"/tasks/{task['id']}")
    page.get_by_role("button", name="签收", exact=True).click()

    table = page.locator("table.decisions")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table).to_contain_text("机动车驾驶证信息")
    expect(page.get_by_text("必须是有效的 JSON")).to_have_count(0)
    expect(page.locator("textarea#f_decisions")).to_have_count(0)  # no JSON box for a person

    # One row returned without a comment: refused, the row's message beside it, the choices kept.
    table.locator("tbody tr").nth(0).get_by_role("radio", name="退回修改").check()
    table.locator("tbody tr").nth(1).get_by_role("radio", name="通过").check()
    page.get_by_role("button", name="提交").click()
    expect(page.locator("#form-errors")).to_contain_text("退回条目 410000-gat-0100 时必须写明意见")
    expect(table.locator("tbody tr").nth(0).locator(".error")).to_contain_text("必须写明意见")
    expect(page.get_by_label("410000-gat-0100 的意见")).to_be_focused()
    expect(table.locator("tbody tr").nth(0).get_by_role("radio", name="退回修改")).to_be_checked()
    expect(table.locator("tbody tr").nth(1).get_by_role("radio", name="通过")).to_be_checked()
    screenshot("review-refused")

    page.get_by_role("button", name="全部通过").click()
    for i in range(2):
        expect(table.locator("tbody tr").nth(i).get_by_role("radio", name="通过")).to_be_checked()
    screenshot("review-all-approved")
    page.get_by_role("button", name="提交").click()
    expect(page.locator(".flash")).to_contain_text("任务已办理")
    version = as_user("gat_clerk").get(f"/api/catalog/versions/{vid}").json()
    assert version["status"] == "published"


def _fill_request(page, item: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label(item).check()
    page.get_by_label("用途/应用场景").fill("社会保险待遇资格认证")
    page.get_by_label("使用范围（人员/系统）").fill("省人社厅社保经办人员，社保业务系统")
    page.get_by_label("履职依据（法律条款）").fill("《社会保险法》第七十四条")
    page.locator("#period_from").fill("2026-11-01")
    page.locator("#period_to").fill("2027-10-31")
    page.locator("input[name=method]").first.check()


def test_filing_says_the_number_and_withdrawing_asks_first(page, expect, screenshot) -> None:  # type: ignore[no-untyped-def]
    log_in(page, "rst_clerk", DEMO_PASSWORD)
    page.goto("/share-requests/new?entry_code=410000-gat-0001")
    _fill_request(page, "姓名")
    page.get_by_role("button", name="提交申请").click()
    expect(page.locator(".flash")).to_have_text(re.compile(r"^申请已提交，编号 #\d+，已送提供部门审核$"))
    number = re.search(r"#(\d+)", page.locator(".flash").inner_text()).group(1)  # type: ignore[union-attr]
    assert page.url.endswith(f"/share-requests/{number}")
    screenshot("filed")

    page.get_by_label("撤销申请").fill("业务需求已变化")
    asked: list[str] = []
    page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    page.get_by_role("button", name="撤销申请").click()
    assert asked and "确定撤销该共享申请吗" in asked[0]
    expect(page.locator(".status.under_review").first).to_be_visible()  # dismissed: nothing happened
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="撤销申请").click()
    expect(page.locator(".flash")).to_have_text("申请已撤销")
    screenshot("withdrawn")


def test_a_not_shared_entry_offers_the_dispute_path(page, expect, screenshot) -> None:  # type: ignore[no-untyped-def]
    log_in(page, "rst_clerk", DEMO_PASSWORD)
    page.goto("/catalog?q=刑事案件侦查信息")
    row = page.locator("tr", has_text="刑事案件侦查信息")
    expect(row.get_by_role("link", name="申请共享争议协调")).to_be_visible()
    expect(row.get_by_role("link", name="申请共享", exact=True)).to_have_count(0)
    screenshot("catalog-not-shared")
    row.get_by_role("link", name="申请共享争议协调").click()
    expect(page.locator(".notice")).to_contain_text("列为不予共享")
    _fill_request(page, "案件编号")
    page.get_by_role("button", name="提交并申请争议协调").click()
    expect(page.locator(".flash")).to_contain_text("该数据列为不予共享，请填写共享争议协调申请")
    assert "/disputes/new?share_request_id=" in page.url
    screenshot("dispute-form")
