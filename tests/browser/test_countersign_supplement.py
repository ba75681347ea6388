"""Issue 11's done-when, in a real browser at 1366×768: a 会签 of three signers where one returns the case to
the applicant for 补正; the applicant answers from 待办, the case comes back to that signer, who signs, and
the 会签 completes with every opinion and the 补正 in the 流转记录."""

from __future__ import annotations

from typing import Any

from app.org.models import User
from app.org.service import load_actor
from sqlalchemy import select
from tests.api.test_countersign import _deploy, _todo
from tests.browser.conftest import log_in
from tests.conftest import DEMO_PASSWORD

SIGNERS = ["gat_reviewer", "scjg_reviewer", "gat_head"]


def _start_as(rt: Any, username: str, key: str, variables: dict[str, Any]) -> int:
    with rt.db.session() as session:
        user_id = session.execute(select(User.id).where(User.username == username)).scalar_one()
        actor = load_actor(session=session, user_id=user_id)
        instance = rt.runner.start(session, key, variables=variables, actor=actor, subject="联合审查事项")
        session.commit()
        return int(instance.id)


def test_a_signer_returns_the_countersign_to_the_applicant_and_it_comes_back(  # type: ignore[no-untyped-def]
        page, expect, screenshot, as_user, rt) -> None:
    _deploy(as_user, "joint_review_supplement")
    instance_id = _start_as(rt, "gat_clerk", "joint_review_supplement", {"signers": SIGNERS})
    first = as_user("gat_reviewer")
    [task] = _todo(first, instance_id)
    r = first.post(f"/api/tasks/{task['id']}/complete", json={"data": {"approved": True, "opinion": "同意共享"}})
    assert r.status_code == 200, r.text
    page.on("dialog", lambda dialog: dialog.accept())

    # The second signer sends the case back to the applicant (王芳, who started it) for 补正.
    log_in(page, "scjg_reviewer", DEMO_PASSWORD)
    page.get_by_role("link", name="联合审查事项").click()
    page.locator("summary", has_text="退回申请人补正").click()
    page.get_by_label("需补正的内容（发给王芳（省公安厅经办人））").fill("请说明共享字段的使用范围")
    screenshot("countersign-supplement-asked")
    page.get_by_role("button", name="退回补正").click()
    expect(page.locator(".flash")).to_contain_text("已退回申请人补正")
    # Set aside while the applicant answers: not in this signer's 待办 meanwhile.
    expect(page.get_by_role("link", name="联合审查事项")).to_have_count(0)

    # The applicant finds the request in 待办 and answers it.
    log_in(page, "gat_clerk", DEMO_PASSWORD)
    items = page.locator("table.side-items")
    expect(items).to_contain_text("请说明共享字段的使用范围")
    items.get_by_role("link", name="联合审查事项").click()
    page.get_by_label("补正内容").fill("仅用于社保待遇资格认证")
    page.get_by_role("button", name="提交").click()
    expect(page.locator(".flash")).to_contain_text("已提交，任务已回到原办理人")

    # Back with the same signer, the answer shown; they sign.
    log_in(page, "scjg_reviewer", DEMO_PASSWORD)
    page.get_by_role("link", name="联合审查事项").click()
    expect(page.locator(".side-replies")).to_contain_text("仅用于社保待遇资格认证")
    page.get_by_label("是否同意").check()
    page.get_by_label("会签意见").fill("补正后同意")
    screenshot("countersign-supplement-back")
    page.get_by_role("button", name="提交").click()
    expect(page.locator(".flash")).to_contain_text("任务已办理")

    # The last signer signs; the 会签 is complete and the trail holds every opinion and the 补正.
    last = as_user("gat_head")
    [task] = _todo(last, instance_id)
    r = last.post(f"/api/tasks/{task['id']}/complete", json={"data": {"approved": True, "opinion": "同意"}})
    assert r.status_code == 200, r.text
    assert _todo(first, instance_id) == [] and _todo(as_user("scjg_reviewer"), instance_id) == []
    page.get_by_role("link", name="联合审查事项").first.click()
    trail = page.locator("ol.trail")
    done = trail.locator("li", has_text="办理任务")
    expect(done).to_have_count(3)
    expect(done.filter(has_text="陈磊（省市场监管局审核人）")).to_contain_text("意见：补正后同意")
    expect(trail).to_contain_text("请说明共享字段的使用范围")
    expect(trail).to_contain_text("仅用于社保待遇资格认证")
    trail.scroll_into_view_if_needed()
    screenshot("countersign-supplement-history")
