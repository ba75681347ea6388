"""In a real browser at 1366×768: the last signer of a 会签 opens their own task from 待办, reads the other
signers' opinions in the 流转记录, signs, and the history then names every signer with their opinion."""

import re

from tests.api.test_countersign import _deploy, _start, _todo
from tests.browser.conftest import log_in
from tests.conftest import DEMO_PASSWORD


def test_last_signer_reads_the_other_opinions_and_signs(page, expect, screenshot, as_user, rt) -> None:  # type: ignore[no-untyped-def]
    _deploy(as_user, "joint_review_page")
    instance_id = _start(rt, "joint_review_page", {"signers": ["gat_reviewer", "scjg_reviewer", "gat_head"]})
    for name, opinion in (("gat_reviewer", "同意共享"), ("scjg_reviewer", "字段范围过大，建议删减")):
        c = as_user(name)
        [task] = _todo(c, instance_id)
        r = c.post(f"/api/tasks/{task['id']}/complete", json={"data": {"approved": name == "gat_reviewer",
                                                                        "opinion": opinion}})
        assert r.status_code == 200, r.text

    log_in(page, "gat_head", DEMO_PASSWORD)
    page.get_by_role("link", name="联合审查事项").click()
    expect(page.get_by_role("heading", name="会签")).to_be_visible()
    # Assigned to this signer by name: no 签收 needed, nobody else's instance offered.
    expect(page.locator("dl.kv")).to_contain_text("杨帆（省公安厅部门负责人）")
    trail = page.locator("ol.trail")
    for signer in ("张伟（省公安厅审核人）", "陈磊（省市场监管局审核人）", "杨帆（省公安厅部门负责人）"):
        expect(trail.locator("li", has_text="生成待办").filter(has_text=f"指定办理人：{signer}")).to_have_count(1)
    expect(trail).to_contain_text("意见：同意共享")
    expect(trail).to_contain_text("意见：字段范围过大，建议删减")

    # Their own instance, not the pool's: nothing to give back (取消签收 would be refused).
    expect(page.get_by_role("button", name="取消签收")).to_have_count(0)
    # The diagram marks the 会签 step as the active one.
    host = page.locator("#diagram .gf-diagram-host[data-rendered]")
    expect(host.locator('.djs-element[data-element-id="sign"]')).to_have_class(re.compile(r"\bgf-active\b"))
    # Two have signed, but the 会签 is still running: the steps after it are not reached yet.
    expect(host.locator('.djs-element[data-element-id="tally"]')).not_to_have_class(re.compile(r"\bgf-"))
    expect(host.locator('.djs-element[data-element-id="end"]')).not_to_have_class(re.compile(r"\bgf-"))
    screenshot("last-signer-task")
    page.locator("#diagram").scroll_into_view_if_needed()
    screenshot("last-signer-diagram")
    page.get_by_label("是否同意").check()
    page.get_by_label("会签意见").fill("同意，按审核人意见删减字段后共享")
    page.get_by_role("button", name="提交").click()

    # Back on 已办 with the task there; its page carries the whole 流转记录.
    expect(page.get_by_text("任务已办理")).to_be_visible()
    page.get_by_role("link", name="联合审查事项").click()
    expect(page.locator("ol.trail")).to_contain_text("意见：同意，按审核人意见删减字段后共享")
    done = page.locator("ol.trail li", has_text="办理任务")
    expect(done).to_have_count(3)
    expect(done.filter(has_text="张伟（省公安厅审核人）")).to_contain_text("意见：同意共享")
    expect(done.filter(has_text="陈磊（省市场监管局审核人）")).to_contain_text("意见：字段范围过大")
    expect(done.filter(has_text="杨帆（省公安厅部门负责人）")).to_contain_text("意见：同意，按审核人意见")
    page.locator("ol.trail").scroll_into_view_if_needed()
    screenshot("countersign-history")
