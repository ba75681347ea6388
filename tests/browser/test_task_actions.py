"""In a real browser at 1366×768: 退回 to an earlier step, 退回申请人补正 and back, 加签 before me, 委派 with
its confirmation, and 撤回 of my completed step, on a small three-step approval (拟办 → 审核 → 审批)."""

from __future__ import annotations

import re
from typing import Any

from tests.api.task_action_helpers import complete, deploy_three_steps, open_task, start
from tests.browser.conftest import log_in
from tests.conftest import DEMO_PASSWORD


def _at_review(rt: Any, as_user: Any) -> tuple[int, dict[str, Any]]:
    deploy_three_steps(as_user)
    instance_id = start(rt)
    clerk = as_user("gat_clerk")
    complete(clerk, open_task(clerk, instance_id)["id"], "拟同意共享")
    return instance_id, open_task(as_user("gat_reviewer"), instance_id)


def _accept_dialogs(page: Any) -> list[str]:
    said: list[str] = []

    def accept(dialog: Any) -> None:
        said.append(dialog.message)
        dialog.accept()
    page.on("dialog", accept)
    return said


def test_return_to_an_earlier_step(page, expect, screenshot, rt, as_user) -> None:  # type: ignore[no-untyped-def]
    instance_id, check = _at_review(rt, as_user)
    said = _accept_dialogs(page)
    log_in(page, "gat_reviewer", DEMO_PASSWORD)
    page.goto(f"/tasks/{check['id']}")
    page.locator("summary", has_text="退回").first.click()
    expect(page.get_by_label("拟办（王芳（省公安厅经办人））")).to_be_checked()
    page.get_by_label("退回理由").fill("请补充履职依据")
    screenshot("return-form")
    page.get_by_role("button", name="确认退回").click()
    expect(page.locator(".flash")).to_have_text("已退回至“拟办”")
    assert said and "确认退回" in said[0]

    log_in(page, "gat_clerk", DEMO_PASSWORD)
    page.get_by_role("link", name="关于调整数据共享范围的请示").click()
    expect(page.get_by_role("heading", name="拟办")).to_be_visible()
    trail = page.locator(".trail li", has_text="退回至：拟办")
    expect(trail).to_contain_text("张伟（省公安厅审核人）")
    expect(trail).to_contain_text("请补充履职依据")
    trail.scroll_into_view_if_needed()
    screenshot("returned-history")


def test_supplement_by_the_applicant_and_back(page, expect, screenshot, rt, as_user) -> None:  # type: ignore[no-untyped-def]
    instance_id, check = _at_review(rt, as_user)
    _accept_dialogs(page)
    log_in(page, "gat_reviewer", DEMO_PASSWORD)
    page.goto(f"/tasks/{check['id']}")
    page.locator("summary", has_text="退回申请人补正").click()
    page.get_by_label("需补正的内容（发给王芳（省公安厅经办人））").fill("请补充数据使用范围说明")
    page.get_by_role("button", name="退回补正").click()
    expect(page.locator(".flash")).to_contain_text("已退回申请人补正")
    expect(page.get_by_role("link", name="关于调整数据共享范围的请示")).to_have_count(0)

    log_in(page, "gat_clerk", DEMO_PASSWORD)
    items = page.locator("table.side-items")
    expect(items).to_contain_text("补正")
    expect(items).to_contain_text("请补充数据使用范围说明")
    screenshot("supplement-in-inbox")
    items.get_by_role("link", name="关于调整数据共享范围的请示").click()
    page.get_by_label("补正内容").fill("仅限省人社厅社保经办人员使用")
    screenshot("supplement-answer")
    page.get_by_role("button", name="提交").click()
    expect(page.locator(".flash")).to_have_text("已提交，任务已回到原办理人")

    log_in(page, "gat_reviewer", DEMO_PASSWORD)
    page.get_by_role("link", name="关于调整数据共享范围的请示").click()
    replies = page.locator(".side-replies")
    expect(replies).to_contain_text("补正内容：仅限省人社厅社保经办人员使用")
    expect(page.get_by_role("heading", name="办理", exact=True)).to_be_visible()
    screenshot("supplement-back")


def test_addsign_before_me(page, expect, screenshot, rt, as_user) -> None:  # type: ignore[no-untyped-def]
    instance_id, check = _at_review(rt, as_user)
    _accept_dialogs(page)
    log_in(page, "gat_reviewer", DEMO_PASSWORD)
    page.goto(f"/tasks/{check['id']}")
    page.locator("summary", has_text=re.compile(r"^加签$")).click()
    page.locator("#addsign_user").select_option(label="陈磊（省市场监管局审核人）")
    page.get_by_label("加签说明").fill("涉及市场主体数据，请会签")
    screenshot("addsign-form")
    page.get_by_role("button", name="发起加签").click()
    expect(page.locator(".flash")).to_have_text("已请陈磊（省市场监管局审核人）加签，签署后任务回到您的待办")

    log_in(page, "scjg_reviewer", DEMO_PASSWORD)
    page.locator("table.side-items").get_by_role("link", name="关于调整数据共享范围的请示").click()
    page.get_by_label("意见").fill("同意，注意脱敏")
    page.get_by_role("button", name="提交").click()
    expect(page.locator(".flash")).to_have_text("已提交，任务已回到原办理人")

    log_in(page, "gat_reviewer", DEMO_PASSWORD)
    page.get_by_role("link", name="关于调整数据共享范围的请示").click()
    expect(page.locator(".side-replies")).to_contain_text("意见：同意，注意脱敏")
    page.get_by_role("button", name="采纳此意见").click()
    expect(page.locator("#f_opinion")).to_have_value("同意，注意脱敏")
    screenshot("addsign-back")
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator(".flash")).to_contain_text("任务已办理")


def test_addsign_after_me_from_the_form(page, expect, screenshot, rt, as_user) -> None:  # type: ignore[no-untyped-def]
    instance_id, check = _at_review(rt, as_user)
    log_in(page, "gat_reviewer", DEMO_PASSWORD)
    page.goto(f"/tasks/{check['id']}")
    page.locator("#f_opinion").fill("同意，请市场监管局复核")
    page.locator("summary", has_text="提交后请他人加签").click()
    page.locator("#addsign_after_user").select_option(label="陈磊（省市场监管局审核人）")
    # No reason: refused beside the form, with the choice and the opinion kept.
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator(".error").first).to_contain_text("加签说明")
    expect(page.locator("#f_opinion")).to_have_value("同意，请市场监管局复核")
    expect(page.locator("#addsign_after_user")).to_have_value(re.compile(r"^\d+$"))
    page.get_by_label("请其签署的说明").fill("涉及市场主体数据")
    screenshot("addsign-after-form")
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator(".flash")).to_have_text("已提交您的意见，请陈磊（省市场监管局审核人）加签，签署后本环节办结")

    # The added signer signs; the step then completes with my answer and the case moves on.
    log_in(page, "scjg_reviewer", DEMO_PASSWORD)
    page.locator("table.side-items").get_by_role("link", name="关于调整数据共享范围的请示").click()
    page.get_by_label("意见").fill("复核无误")
    page.get_by_role("button", name="提交").click()
    expect(page.locator(".flash")).to_contain_text("已提交")
    reviewer = as_user("gat_reviewer")
    r = reviewer.get(f"/api/tasks/{check['id']}")
    assert r.status_code == 200 and r.json()["status"] == "completed", r.text
    assert r.json()["data"]["opinion"] == "同意，请市场监管局复核"


def test_delegate_with_confirmation(page, expect, screenshot, rt, as_user) -> None:  # type: ignore[no-untyped-def]
    instance_id, check = _at_review(rt, as_user)
    log_in(page, "gat_reviewer", DEMO_PASSWORD)
    page.goto(f"/tasks/{check['id']}")
    page.locator("summary", has_text="委派").click()
    page.locator("#delegate_user").select_option(label="杨帆（省公安厅部门负责人）")
    page.get_by_label("委派说明").fill("请代拟审核意见")
    # Declining the confirmation changes nothing.
    said: list[str] = []
    page.once("dialog", lambda d: (said.append(d.message), d.dismiss()))
    page.get_by_role("button", name="委派", exact=True).click()
    expect(page.get_by_label("委派说明")).to_have_value("请代拟审核意见")
    assert said == ["确认将本任务委派给杨帆（省公安厅部门负责人）？其填写意见后回到您这里确认。"]
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="委派", exact=True).click()
    expect(page.locator(".flash")).to_have_text("已委派给杨帆（省公安厅部门负责人），填写意见后回到您这里确认")

    log_in(page, "gat_head", DEMO_PASSWORD)
    page.locator("table.side-items").get_by_role("link", name="关于调整数据共享范围的请示").click()
    page.get_by_label("意见").fill("建议同意共享")
    page.get_by_role("button", name="提交").click()

    log_in(page, "gat_reviewer", DEMO_PASSWORD)
    page.get_by_role("link", name="关于调整数据共享范围的请示").click()
    page.get_by_role("button", name="采纳此意见").click()
    page.locator("#f_opinion").fill("建议同意共享（经确认）")
    screenshot("delegate-confirm")
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator(".flash")).to_contain_text("任务已办理")
    page.goto(f"/tasks/{check['id']}")
    history = page.locator(".trail").last
    expect(history).to_contain_text("受委派人：杨帆（省公安厅部门负责人）")
    expect(history).to_contain_text("意见：建议同意共享")


def test_withdraw_my_completed_step(page, expect, screenshot, rt, as_user) -> None:  # type: ignore[no-untyped-def]
    deploy_three_steps(as_user)
    instance_id = start(rt)
    said = _accept_dialogs(page)
    log_in(page, "gat_clerk", DEMO_PASSWORD)
    page.get_by_role("link", name="关于调整数据共享范围的请示").click()
    page.locator("#f_opinion").fill("拟同意")
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator(".flash")).to_contain_text("任务已办理")
    page.get_by_role("link", name="关于调整数据共享范围的请示").click()
    screenshot("withdraw-offered")
    page.get_by_role("button", name="撤回").click()
    expect(page.locator(".flash")).to_have_text("已撤回，任务已回到您的待办")
    assert said and said[-1].startswith("确认撤回")
    expect(page.get_by_role("heading", name="拟办")).to_be_visible()
    expect(page.locator("#f_opinion")).to_be_visible()
    expect(page.locator(".trail li", has_text="撤回已办")).to_contain_text("王芳（省公安厅经办人）")


def test_a_deputy_set_on_my_settings_works_my_task(page, expect, screenshot, rt, as_user) -> None:  # type: ignore[no-untyped-def]
    instance_id, check = _at_review(rt, as_user)
    said = _accept_dialogs(page)
    log_in(page, "gat_reviewer", DEMO_PASSWORD)
    page.get_by_role("link", name="外出时设置代理人").click()
    page.get_by_label("代理人").select_option(label="杨帆（省公安厅部门负责人）")
    page.locator("input[name=starts_on]").fill("2026-11-02")
    page.locator("input[name=ends_on]").fill("2026-11-06")
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".flash")).to_have_text("代理设置已保存")
    expect(page.get_by_text("当前代理人：杨帆（省公安厅部门负责人）")).to_contain_text("（生效中）")
    screenshot("deputy-settings")

    log_in(page, "gat_head", DEMO_PASSWORD)
    deputy = page.locator("table.deputy-items")
    expect(deputy).to_contain_text("张伟（省公安厅审核人）")
    deputy.get_by_role("link", name="关于调整数据共享范围的请示").click()
    expect(page.get_by_text("您正代理张伟（省公安厅审核人）办理此任务")).to_be_visible()
    page.locator("#d_opinion").fill("代为审核同意")
    screenshot("deputy-task")
    page.get_by_role("button", name="代为办理").click()
    expect(page.locator(".flash")).to_have_text("已代为办理")
    assert said and said[-1] == "确认代张伟（省公安厅审核人）办理？"
    page.goto(f"/tasks/{check['id']}")
    expect(page.locator(".trail li", has_text="代理办理")).to_contain_text("代张伟（省公安厅审核人）办理")
