"""Issue 10's done-when, in a real browser at 1366×768: a designer opens the share-request process in the
modeler, adds a user task with a deadline, sees the validation marker, fixes it, saves and submits; an
administrator sees the diff and approves; a trial of the new version runs along the path on the diagram."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.browser.conftest import log_in
from tests.conftest import DEMO_PASSWORD

KEY = "sharing_share_request"
# Insert a user task between 记录答复 and the gateway 同意共享？: create it, rewire the flow, select it.
ADD_TASK = """() => {
  const m = window.govflowEditor.modeler;
  const modeling = m.get('modeling'), registry = m.get('elementRegistry');
  const source = registry.get('record_reply'), end = registry.get('by_reply');
  modeling.removeConnection(registry.get('flow_replied_end'));
  modeling.moveElements([end], {x: 160, y: 0});
  const task = modeling.createShape({type: 'bpmn:UserTask'}, {x: 790, y: 240}, source.parent);
  modeling.updateLabel(task, '答复复核');
  modeling.connect(source, task);
  modeling.connect(task, end);
  m.get('selection').select(task);
  return task.id;
}"""


def _marker(page: Any, element_id: str) -> Any:
    return page.locator(f'#canvas .djs-element[data-element-id="{element_id}"].govflow-problem')


def _log_out(page: Any) -> None:
    page.get_by_role("button", name="退出").click()
    page.wait_for_url("**/login")


def test_design_validate_submit_approve_and_try(page, expect, screenshot) -> None:  # type: ignore[no-untyped-def]
    # The designer's workspace: every process with its versions; a draft from the current version.
    log_in(page, "designer", DEMO_PASSWORD)
    page.get_by_role("link", name="流程设计").click()
    process = page.locator(f"#process-{KEY}")
    expect(process.get_by_role("heading")).to_contain_text("政务数据共享申请（第十六条）")
    current = process.locator("tr", has_text="现行")
    expect(current).to_have_count(1)
    screenshot("workspace")
    current.get_by_role("button", name="新建草稿").click()

    # The modeler: the diagram imported, no problems in the shipped process.
    page.wait_for_url("**/designer/drafts/*")
    expect(page.locator('#designer[data-ready="1"]')).to_be_visible()
    expect(page.locator(".flash")).to_have_text("草稿已创建，可以开始编辑")
    expect(page.locator("#problems")).to_have_text("未发现问题")
    expect(page.locator("#save-state")).to_have_text("已保存")
    page.reload()  # the draft is the server's: it opens again, the banner is not shown twice
    expect(page.locator('#designer[data-ready="1"]')).to_be_visible()
    expect(page.locator(".flash")).to_have_count(0)
    expect(page.locator('#canvas .djs-element[data-element-id="review"] .govflow-bound-badge, '
                        '#canvas .govflow-bound-badge[data-element-id="review"]').first).to_be_visible()

    # The shipped scenarios pass on the unchanged process (when the scenario runner is in this build).
    if page.request.get("/api/designer/scenarios/run").status != 404:
        page.get_by_role("button", name="运行场景测试").click()
        results = page.locator("#scenario-results li")
        expect(results.first).to_be_visible()
        expect(page.locator('#scenario-results li[data-passed="0"]')).to_have_count(0)
        expect(page.locator("#scenarios-summary")).to_contain_text("通过")

    # Add a user task and give it a deadline through the GovFlow group of the panel, by real clicks.
    task_id = page.evaluate(ADD_TASK)
    expect(page.locator("#save-state")).to_have_text("有未保存的修改")
    panel = page.locator("#properties")
    expect(panel.get_by_text("办理设置", exact=True)).to_be_visible()
    panel.get_by_label("办理期限").select_option(label="N 个工作日")
    days = panel.get_by_label("工作日数")
    days.click()
    days.fill("3")
    days.press("Tab")
    # Checked as it is drawn, before any save: the marker comes from the debounced validation.
    expect(_marker(page, task_id)).to_have_count(1)
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page.locator("#save-state")).to_have_text("已保存")

    # Saved with a problem: nobody could ever see the task (no candidate roles), marked on the element.
    expect(_marker(page, task_id)).to_have_count(1)
    problem = page.locator(f'#problems li[data-element-id="{task_id}"][data-code="no_candidates"]')
    expect(problem).to_be_visible()
    expect(problem).to_contain_text("答复复核")
    page.locator(f'#canvas .djs-element[data-element-id="{task_id}"]').scroll_into_view_if_needed()
    screenshot("modeler-marker")
    saved = _saved_xml(page)
    assert 'camunda:dueDate="3WD"' in saved[task_id], saved[task_id]

    # It cannot be submitted so: the dialog lists the problem.
    page.get_by_role("button", name="提交审批").click()
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator("#submit-error")).to_contain_text("未设置候选角色")
    page.get_by_role("button", name="取消").click()

    # Fix it: 候选角色 审核人, by a click on its checkbox in the panel (the problem list selects the task).
    problem.get_by_role("button").click()
    panel.get_by_label("审核人", exact=True).check()
    page.keyboard.press("Control+s")
    expect(page.locator("#save-state")).to_have_text("已保存")
    expect(_marker(page, task_id)).to_have_count(0)
    expect(page.locator("#problems")).to_have_text("未发现问题")
    assert 'camunda:candidateGroups="reviewer"' in _saved_xml(page)[task_id]

    # Submit with a comment; the submitter sees that another administrator must approve.
    page.get_by_role("button", name="提交审批").click()
    page.get_by_label("变更说明").fill("答复后增加复核环节，期限 3 个工作日")
    page.get_by_role("button", name="提交", exact=True).click()
    page.wait_for_url("**/designer/submissions/*")
    submission_url = page.url
    expect(page.get_by_text("须由另一位系统管理员审批后才会部署")).to_be_visible()
    expect(page.get_by_role("button", name="批准并部署")).to_have_count(0)
    # Under review the draft is read-only: drawn without the editing tools, a banner says why.
    page.get_by_role("link", name="打开草稿").click()
    expect(page.locator("#readonly-banner")).to_contain_text("已提交审批")
    expect(page.locator('#designer[data-ready="1"]')).to_be_visible()
    expect(page.get_by_role("button", name="保存", exact=True)).to_have_count(0)
    expect(page.locator("#canvas .djs-palette")).to_have_count(0)
    _log_out(page)

    # The administrator sees the new task in the added colour and the changes listed, and approves.
    log_in(page, "demo_admin", DEMO_PASSWORD)
    page.goto(submission_url)
    expect(page.locator(f'#diff-canvas .djs-element[data-element-id="{task_id}"].govflow-diff-added')).to_have_count(1)
    expect(page.locator("#diff-canvas[data-ready='1']")).to_have_count(1)
    added = page.locator("table.diff-table tr.diff-added")
    expect(added.filter(has_text="答复复核 用户任务")).to_have_count(1)  # the task, with what it carries:
    expect(added.filter(has_text="办理期限")).to_contain_text("3 个工作日（3WD）")
    expect(added.filter(has_text="候选角色")).to_contain_text("审核人（reviewer）")
    expect(added.filter(has_text="记录答复 → 答复复核")).to_have_count(1)  # the flows by the steps they join
    expect(page.locator("table.diff-table tr.diff-removed")).to_contain_text("记录答复 → 同意共享？")
    expect(page.get_by_text("答复后增加复核环节，期限 3 个工作日")).to_be_visible()
    screenshot("review")
    page.locator("#decision").scroll_into_view_if_needed()
    screenshot("review-changes")
    page.get_by_label("审批意见（可选）").fill("同意")
    page.get_by_role("button", name="批准并部署").click()
    expect(page.locator(".flash")).to_have_text("已批准并部署为第2版")
    page.goto("/designer")
    expect(page.locator(f"#process-{KEY} tr", has_text="现行")).to_contain_text("第2版")
    # The new version's page draws what changed since version 1.
    page.locator(f"#process-{KEY} tr", has_text="现行").get_by_role("link", name="查看").click()
    expect(page.locator(f'#diff-canvas .djs-element[data-element-id="{task_id}"].govflow-diff-added')).to_have_count(1)

    # A trial of the new version: the review done as 审核人, the path reaches the new task.
    if page.request.get("/designer/trials").status != 200:
        pytest.skip("试运行页面（/designer/trials, i10-trial）不在本次构建中：跳过试运行一步")
    page.goto("/designer/trials")
    page.get_by_label("流程", exact=False).first.select_option(KEY)
    page.get_by_label("流程变量").fill(json.dumps(
        {"share_type": "conditional", "provider_department": "410000-gat", "requester_department": "410000-rst",
         "items": ["姓名", "公民身份号码"], "entry_code": "T-001", "entry_name": "试运行条目"}, ensure_ascii=False))
    page.get_by_role("button", name="启动试运行").click()
    expect(page.locator(".flash")).to_have_text("试运行已启动")
    page.get_by_label("同意", exact=True).check()
    page.get_by_label("使用要求", exact=False).fill("仅用于试运行")
    page.get_by_role("button", name="以此角色办理").click()
    expect(page.get_by_role("heading", name="答复复核", exact=False)).to_be_visible()
    diagram = page.locator("#diagram")
    expect(diagram.locator('.djs-element[data-element-id="review"].gf-completed')).to_have_count(1)
    expect(diagram.locator(f'.djs-element[data-element-id="{task_id}"].gf-active')).to_have_count(1)
    diagram.scroll_into_view_if_needed()
    screenshot("trial-path")


def _saved_xml(page: Any) -> dict[str, str]:
    """The draft as saved on the server, each element's start tag by id (read through the page's own API)."""
    import re

    draft_id = page.locator("#designer").get_attribute("data-draft-id")
    xml = page.evaluate("async (url) => (await (await fetch(url)).json()).xml", f"/api/designer/drafts/{draft_id}")
    return {m.group(2): m.group(0) for m in re.finditer(r'<bpmn:(\w+) id="([^"]+)"[^>]*>', xml)}


def test_replace_download_and_a_stale_save(page, expect, screenshot, as_user, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from app.core.config import ROOT

    draft = as_user("designer").post("/api/designer/drafts", json={"process_key": KEY, "from_version": 1}).json()
    log_in(page, "designer", DEMO_PASSWORD)
    page.goto(f"/designer/drafts/{draft['id']}")
    expect(page.locator('#designer[data-ready="1"]')).to_be_visible()

    # A file that is not BPMN: refused in Chinese, the draft stays on the canvas.
    bad = tmp_path / "坏文件.bpmn"
    bad.write_text("<html>not a process</html>", encoding="utf-8")
    page.locator("#upload-replace").set_input_files(str(bad))
    expect(page.locator("#save-state")).to_contain_text("无法打开文件")
    expect(page.locator('#canvas .djs-element[data-element-id="review"]')).to_have_count(1)

    # A desktop modeler's file replaces the diagram; saving keeps it.
    renamed = tmp_path / "share.bpmn"
    renamed.write_text((ROOT / "bpmn" / f"{KEY}.bpmn").read_text(encoding="utf-8")
                       .replace('name="审核共享申请"', 'name="审核共享申请（新）"'), encoding="utf-8")
    page.locator("#upload-replace").set_input_files(str(renamed))
    expect(page.locator("#save-state")).to_contain_text("有未保存的修改")
    expect(page.locator('#canvas .djs-element[data-element-id="review"]')).to_contain_text("审核共享申请（新）")
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page.locator("#save-state")).to_have_text("已保存")
    assert "审核共享申请（新）" in as_user("designer").get(f"/api/designer/drafts/{draft['id']}").json()["xml"]

    # 下载 .bpmn gives what is on the canvas.
    with page.expect_download() as download:
        page.get_by_role("button", name="下载 .bpmn").click()
    assert download.value.suggested_filename == f"{KEY}.bpmn"
    assert "审核共享申请（新）" in download.value.path().read_text(encoding="utf-8")

    # Saved meanwhile elsewhere (another tab): this page's save is refused, nothing overwritten.
    current = as_user("designer").get(f"/api/designer/drafts/{draft['id']}").json()
    assert as_user("designer").put(f"/api/designer/drafts/{draft['id']}", json={
        "xml": current["xml"].replace("审核共享申请（新）", "别处的修改"), "lock_version": current["lock_version"]
    }).status_code == 200
    page.evaluate("""() => {
      const m = window.govflowEditor.modeler;
      m.get('modeling').updateLabel(m.get('elementRegistry').get('record_reply'), '记录答复（本页）');
    }""")
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page.locator("#save-state")).to_have_text("保存失败：草稿已在别处修改，请刷新")
    assert "别处的修改" in as_user("designer").get(f"/api/designer/drafts/{draft['id']}").json()["xml"]
    screenshot("stale-save")
