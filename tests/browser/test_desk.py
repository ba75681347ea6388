"""In a real browser at 1366×768: the approval desk — 抄送 read by the recipient, 催办 by the applicant,
常用意见 fills the opinion box, 批量办理 of two tasks, the printable 审批单."""

from __future__ import annotations

from tests.api.helpers import review_task, submit
from tests.api.test_desk import deployed, start
from tests.browser.conftest import log_in
from tests.conftest import DEMO_PASSWORD

def test_a_copy_is_read_by_its_recipient_and_the_tab_count_drops(page, expect, screenshot, rt, as_user) -> None:  # type: ignore[no-untyped-def]
    request = submit(as_user("rst_clerk"))
    task = review_task(as_user("gat_reviewer"), request["instance_id"])
    # The reviewer copies the case from its task page to a colleague of another department.
    log_in(page, "gat_reviewer", DEMO_PASSWORD)
    page.goto(f"/tasks/{task['id']}")
    page.get_by_text("抄送给同事").click()
    page.get_by_label("赵静（省市场监管局经办人）").check()
    page.get_by_placeholder("附言（可选）").fill("请知悉并配合核查")
    page.get_by_role("button", name="抄送", exact=True).click()
    expect(page.locator(".flash")).to_have_text("已抄送给赵静（省市场监管局经办人）")
    expect(page.get_by_text("赵静（省市场监管局经办人）（未阅）")).to_be_visible()
    page.get_by_placeholder("写下评论，参与本事项的人员均可看到").fill("已电话联系申请部门。")
    page.get_by_role("button", name="发表评论").click()
    expect(page.locator(".flash")).to_have_text("评论已发表")
    page.locator("#desk").scroll_into_view_if_needed()
    expect(page.locator("ul.comments")).to_contain_text("已电话联系申请部门。")
    screenshot("desk-section")
    page.context.clear_cookies()

    log_in(page, "scjg_clerk", DEMO_PASSWORD)
    tab = page.locator("a[data-tab=cc]")
    expect(tab.locator(".badge")).to_have_text("1")
    tab.click()
    row = page.locator("tr[data-copy]")
    expect(row).to_contain_text("张伟（省公安厅审核人）")
    expect(row).to_contain_text("请知悉并配合核查")
    expect(row).to_contain_text("待阅")
    screenshot("cc-unread")
    row.get_by_role("link").click()  # opening the case marks it read
    expect(page.get_by_role("heading", name="审核共享申请")).to_be_visible()
    screenshot("cc-case")
    page.goto("/tasks?view=cc")
    expect(page.locator("a[data-tab=cc] .badge")).to_have_count(0)
    expect(page.locator("tr[data-copy]")).to_contain_text("已阅")
    screenshot("cc-read")


def test_the_applicant_urges_from_my_initiated_list(page, expect, screenshot, as_user) -> None:  # type: ignore[no-untyped-def]
    request = submit(as_user("rst_clerk"))
    review_task(as_user("gat_reviewer"), request["instance_id"])
    log_in(page, "rst_clerk", DEMO_PASSWORD)
    page.locator("a[data-tab=initiated]").click()
    page.get_by_role("button", name="催办").click()
    expect(page.locator(".flash")).to_have_text("已催办，办理人将收到提醒")
    page.get_by_role("button", name="催办").click()
    expect(page.locator(".flash")).to_contain_text("请于11月3日（星期二）再催办")
    screenshot("urge-too-soon")
    titles = [n["title"] for n in as_user("gat_reviewer").get("/api/notifications").json()["items"]]
    assert titles.count("催办：审核共享申请") == 1


def test_a_phrase_click_fills_the_opinion_box(page, expect, screenshot, rt, as_user) -> None:  # type: ignore[no-untyped-def]
    deployed(as_user)
    instance_id = start(rt, "desk_approval", "gat_clerk", "关于调整值班安排的请示")
    task = review_task(as_user("gat_reviewer"), instance_id)
    log_in(page, "gat_reviewer", DEMO_PASSWORD)
    page.goto(f"/tasks/{task['id']}")
    box = page.locator("#f_opinion")
    page.get_by_role("button", name="拟同意，请领导审批。").click()
    expect(box).to_have_value("拟同意，请领导审批。")
    page.get_by_role("button", name="材料不全，请补正。").click()
    expect(box).to_have_value("拟同意，请领导审批。\n材料不全，请补正。")
    screenshot("phrases")
    # A saved phrase replaces the defaults.
    page.goto("/me/phrases")
    page.get_by_label("新增意见").fill("经审核，同意。")
    page.get_by_role("button", name="保存").click()
    expect(page.locator("tr[data-phrase-id]")).to_contain_text("经审核，同意。")
    screenshot("phrases-page")
    page.goto(f"/tasks/{task['id']}")
    expect(page.get_by_role("button", name="同意。", exact=True)).to_have_count(0)
    page.get_by_role("button", name="经审核，同意。").click()
    page.get_by_label("同意", exact=True).check()
    expect(box).to_have_value("经审核，同意。")
    page.get_by_role("button", name="提交").click()
    expect(page.locator(".flash")).to_contain_text("任务已办理")


def test_batch_completes_two_tasks(page, expect, screenshot, rt, as_user) -> None:  # type: ignore[no-untyped-def]
    deployed(as_user)
    start(rt, "desk_approval", "gat_clerk", "请示一：购置打印机")
    start(rt, "desk_approval", "gat_clerk", "请示二：维修空调")
    submit(as_user("rst_clerk"))  # a share request: its form needs more than one decision (no checkbox)
    log_in(page, "gat_reviewer", DEMO_PASSWORD)
    expect(page.locator("a[data-tab=todo] .badge")).to_have_text("3")
    page.get_by_label("选择“请示一：购置打印机”").check()
    page.get_by_label("选择“请示二：维修空调”").check()
    expect(page.locator("input[name=task_ids]")).to_have_count(2)
    page.get_by_label("意见").fill("同意，按规定办理。")
    screenshot("batch-ticked")
    page.get_by_role("button", name="批量办理").click()
    expect(page.get_by_role("heading", name="批量办理结果")).to_be_visible()
    expect(page.locator("tr[data-result=ok]")).to_have_count(2)
    expect(page.get_by_role("link", name="我的待办")).to_have_text("我的待办 1")  # the header counts what is left
    screenshot("batch-result")
    page.goto("/tasks?view=todo")
    expect(page.locator("a[data-tab=todo] .badge")).to_have_text("1")
    expect(page.locator("a[data-tab=done] .tab-count")).to_have_text("2")


def test_the_approval_sheet_prints_every_step(page, expect, screenshot, rt, as_user, tmp_path) -> None:  # type: ignore[no-untyped-def]
    deployed(as_user)
    instance_id = start(rt, "desk_approval", "gat_clerk", "关于购置办公设备的请示")
    reviewer = as_user("gat_reviewer")
    task = review_task(reviewer, instance_id)
    reviewer.post(f"/api/tasks/{task['id']}/comments", json={"body": "请补充报价单。"})
    assert reviewer.post(f"/api/tasks/{task['id']}/complete",
                         json={"data": {"decision": "approve", "opinion": "同意购置，控制在预算内。"}}).status_code == 200
    log_in(page, "gat_clerk", DEMO_PASSWORD)
    page.goto(f"/instances/{instance_id}/print")
    expect(page.get_by_role("heading", name="审批单")).to_be_visible()
    row = page.locator("table.steps tbody tr").first
    expect(row).to_contain_text("科室审核")
    expect(row).to_contain_text("张伟（省公安厅审核人）")
    expect(row).to_contain_text("同意购置，控制在预算内。")
    expect(page.locator("table.head")).to_contain_text("王芳（省公安厅经办人）")
    screenshot("sheet")
    page.emulate_media(media="print")
    expect(page.locator(".toolbar")).to_be_hidden()
    pdf = page.pdf(path=str(tmp_path / "sheet.pdf"), prefer_css_page_size=True)
    assert pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page\r") + pdf.count(b"/Type /Page ") >= 1
