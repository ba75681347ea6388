"""The modeler bundle in a real browser: shipped BPMN round-trips unchanged in meaning, the GovFlow panel
group shows and edits what our engine reads, problems and diffs are drawn on the diagram.

The page is blank (no designer page is needed): it loads /static/vendor/govflow-modeler.{css,js} from
the live server, exactly the files a deployment serves.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer

from app.core.config import Settings
from app.engine.bpmn import compile_definition
from app.engine.core import full_config
from app.org.models import ROLE_ZH, Role

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "bpmn").glob("*.bpmn"))
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"

# What GET /api/designer/vocabulary offers (built here from the same sources, so this test needs no API).
VOCABULARY = {
    "roles": [{"id": role.value, "name": ROLE_ZH[role]}
              for role in Role if role not in (Role.designer, Role.admin)],
    "limits": [
        {"name": name.removesuffix("_working_days"), "label": f"{name}（{field.default}个工作日）",
         "working_days": field.default}
        for name, field in Settings.model_fields.items()
        if name.endswith("_working_days") and name != "rectification_max_working_days"
    ],
    "form_types": [{"id": "string", "name": "文本"}, {"id": "long", "name": "整数"},
                   {"id": "boolean", "name": "是/否"}, {"id": "date", "name": "日期"},
                   {"id": "enum", "name": "选项"}],
}

PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>modeler</title>
<style>body{margin:0;display:flex;height:100vh;font-family:sans-serif}#canvas{flex:1;position:relative}
#panel{width:360px;overflow:auto;border-left:1px solid #ccc}#diff{flex:1;height:100vh}</style></head>
<body><div id="canvas"></div><div id="panel"></div></body></html>"""

MINIMAL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_1" targetNamespace="http://govflow.example/bpmn">
  <bpmn:process id="trial_minimal" name="最小流程" isExecutable="true">
    <bpmn:startEvent id="start" name="开始" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="Diagram_1">
    <bpmndi:BPMNPlane id="Plane_1" bpmnElement="trial_minimal">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="152" y="102" width="36" height="36" /></bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""

# Reads the GovFlow group (办理设置 + 表单字段) of the selected element as a person sees it.
READ_GROUP = """() => {
  const group = document.querySelector('[data-group-id="group-GovFlow__Settings"]');
  const fields = document.querySelector('[data-group-id="group-GovFlow__FormFields"]');
  const value = (sel) => { const el = group && group.querySelector(sel); return el ? el.value : null; };
  return {
    first: document.querySelector('.bio-properties-panel-group')?.dataset.groupId || null,
    due_mode: value('[data-entry-id="govflow-due-mode"] select'),
    due_days: value('[data-entry-id="govflow-due-days"] input'),
    limit: value('[data-entry-id="govflow-due-limit"] select'),
    roles: group ? [...group.querySelectorAll('[data-entry-id^="govflow-role-"] input:checked')]
      .map((i) => i.closest('[data-entry-id]').dataset.entryId.replace('govflow-role-', '')) : [],
    condition: value('[data-entry-id="govflow-condition"] textarea'),
    script: value('[data-entry-id="govflow-script"] textarea'),
    fields: fields ? [...fields.querySelectorAll('.bio-properties-panel-list-item .bio-properties-panel-collapsible-entry-header-title')]
      .filter((t) => !t.closest('.bio-properties-panel-list-entry')).map((t) => t.textContent) : null,
  };
}"""


def _spec_dicts(xml: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (process metadata, serialized specs) of a BPMN file: everything the engine runs."""
    deployed, spec, subprocess_specs = compile_definition(xml)
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(full_config()))
    meta = dataclasses.asdict(deployed)
    meta.pop("content_hash")  # the bytes differ (formatting); the meaning must not
    specs = {"": serializer.to_dict(spec)} | {k: serializer.to_dict(v) for k, v in subprocess_specs.items()}
    return meta, specs


def _open_modeler(page: Any, live_server: str) -> None:
    page.set_content(PAGE)
    page.add_style_tag(url=f"{live_server}/static/vendor/govflow-modeler.css")
    page.add_script_tag(url=f"{live_server}/static/vendor/govflow-modeler.js")
    page.evaluate("""v => {
        window.changes = 0;
        window.editor = GovFlowModeler.create({container: '#canvas', propertiesPanel: '#panel', vocabulary: v});
        window.editor.onChange(() => { window.changes += 1; });
    }""", VOCABULARY)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_bpmn_round_trips_with_the_same_meaning(page, live_server, path: Path) -> None:  # type: ignore[no-untyped-def]
    original = path.read_bytes()
    _open_modeler(page, live_server)
    page.evaluate("x => editor.open(x)", original.decode())
    saved = page.evaluate("() => editor.save()")

    assert _spec_dicts(saved.encode()) == _spec_dicts(original)

    # The GovFlow group shows what the file says, for every element it edits.
    deployed, _, _ = compile_definition(original)
    for task_id, meta in deployed.user_tasks.items():
        assert page.evaluate("id => editor.selectElement(id)", task_id)
        shown = page.evaluate(READ_GROUP)
        assert shown["first"] == "group-GovFlow__Settings", task_id
        if meta.properties.get("limit"):
            assert (shown["due_mode"], shown["limit"]) == ("limit", meta.properties["limit"]), task_id
        elif meta.due_date:
            days = meta.due_date.upper().removesuffix("WD")
            assert (shown["due_mode"], shown["due_days"]) == ("days", days), task_id
        else:
            assert shown["due_mode"] == "none", task_id
        assert shown["roles"] == list(meta.candidate_groups), task_id
        assert shown["fields"] == [field.label for field in meta.form], task_id

    root = etree.fromstring(original)
    gateways = {el.get("id") for tag in ("exclusiveGateway", "inclusiveGateway")
                for el in root.iter(BPMN + tag)}
    for flow in root.iter(BPMN + "sequenceFlow"):
        condition = flow.find(BPMN + "conditionExpression")
        if flow.get("sourceRef") in gateways and condition is not None:
            assert page.evaluate("id => editor.selectElement(id)", flow.get("id"))
            assert page.evaluate(READ_GROUP)["condition"] == condition.text, flow.get("id")
    for task in root.iter(BPMN + "scriptTask"):
        assert page.evaluate("id => editor.selectElement(id)", task.get("id"))
        assert page.evaluate(READ_GROUP)["script"] == task.find(BPMN + "script").text, task.get("id")
    assert page.evaluate("() => window.changes") == 0  # looking changes nothing


def test_a_user_task_is_set_up_in_the_govflow_group(page, live_server, expect, screenshot) -> None:  # type: ignore[no-untyped-def]
    _open_modeler(page, live_server)
    page.evaluate("x => editor.open(x)", MINIMAL)
    task_id = page.evaluate("""() => {
        const m = editor.modeler, registry = m.get('elementRegistry'), modeling = m.get('modeling');
        const task = modeling.appendShape(registry.get('start'), {type: 'bpmn:UserTask'});
        modeling.updateLabel(task, '审核');
        modeling.appendShape(task, {type: 'bpmn:EndEvent'});
        return task.id;
    }""")
    page.evaluate("id => editor.selectElement(id)", task_id)
    panel = page.locator("#panel")
    group = panel.locator('[data-group-id="group-GovFlow__Settings"]')
    expect(group.locator(".bio-properties-panel-group-header-title")).to_have_text("办理设置")

    group.get_by_label("办理期限").select_option(label="N 个工作日")
    days = group.get_by_label("工作日数")
    days.fill("0")
    expect(group.get_by_text("请填写 1 到 999 之间的整数")).to_be_visible()
    days.fill("5")
    days.press("Tab")
    group.get_by_label("审核人", exact=True).check()
    expect(group.get_by_label("审核人", exact=True)).to_be_checked()
    screenshot("govflow-settings")

    fields = panel.locator('[data-group-id="group-GovFlow__FormFields"]')
    fields.get_by_title("新增一项").click()
    field = fields.locator(".bio-properties-panel-list-item").first
    field.get_by_label("标签").fill("审核结论")
    field.get_by_label("字段名").fill("decision")
    field.get_by_label("类型").select_option(label="选项")
    field.get_by_label("必填").check()
    field.get_by_title("新增一项").click()
    field.get_by_label("显示名称").fill("同意")
    field.get_by_label("取值").fill("approve")
    field.get_by_label("取值").press("Tab")
    expect(fields.locator(".bio-properties-panel-list-item").first).to_contain_text("审核结论")
    # A second field may not reuse the name; removing it leaves the first one alone.
    fields.locator(".bio-properties-panel-group-header").get_by_title("新增一项").click()
    second = fields.locator(".bio-properties-panel-list-item").nth(1)
    second.get_by_label("字段名").fill("decision")
    expect(second.get_by_text("与本表单的其他字段重名")).to_be_visible()
    second.get_by_title("删除此项").click()
    expect(fields.locator(".bio-properties-panel-list-item")).to_have_count(1)
    screenshot("govflow-group")

    # English left in our groups would show here (the dictionary records every miss).
    assert "GovFlow" not in group.inner_text()
    assert page.evaluate("() => [...GovFlowModeler.untranslated]") == []

    xml = page.evaluate("() => editor.save()")
    task = etree.fromstring(xml.encode()).find(f".//{BPMN}userTask")
    assert task.get("{http://camunda.org/schema/1.0/bpmn}dueDate") == "5WD"
    assert task.get("{http://camunda.org/schema/1.0/bpmn}candidateGroups") == "reviewer"
    deployed, _, _ = compile_definition(xml.encode())
    meta = deployed.user_tasks[task_id]
    assert (meta.due_date, meta.candidate_groups) == ("5WD", ("reviewer",))
    [form_field] = meta.form
    assert (form_field.id, form_field.label, form_field.type, form_field.required, form_field.options) == (
        "decision", "审核结论", "enum", True, (("approve", "同意"),))
    assert page.evaluate("() => window.changes") > 0

    # A statutory limit by name replaces the day count (the first one offered is preselected); undo
    # brings the day count back and leaves the form as it was.
    group.get_by_label("办理期限").select_option(label="法定时限")
    expect(group.get_by_label("法定时限")).to_have_value("share_reply")
    meta = compile_definition(page.evaluate("() => editor.save()").encode())[0].user_tasks[task_id]
    assert (meta.properties.get("limit"), meta.due_date) == ("share_reply", "5WD")
    page.evaluate("() => editor.modeler.get('commandStack').undo()")
    expect(group.get_by_label("办理期限")).to_have_value("days")
    meta = compile_definition(page.evaluate("() => editor.save()").encode())[0].user_tasks[task_id]
    assert ("limit" in meta.properties, meta.due_date) == (False, "5WD")
    assert meta.form[0].options == (("approve", "同意"),)

    # Problems: a red marker and a badge with the message on the element; the next call replaces them.
    page.evaluate("""id => editor.showProblems([
        {element_id: id, message: '用户任务 ' + id + ' 没有候选角色', code: 'no_role'},
        {element_id: null, message: '文件级问题不画在图上', code: 'x'},
        {element_id: 'no_such_element', message: '已不存在的元素', code: 'x'},
        {element_id: 'trial_minimal', message: '流程没有名称', code: 'x'}])""", task_id)
    shape = page.locator(f'.djs-element[data-element-id="{task_id}"]')
    expect(shape).to_have_class(re.compile(r"\bgovflow-problem\b"))
    badge = page.locator(f'.govflow-problem-badge[data-element-id="{task_id}"]')
    expect(badge).to_have_attribute("title", f"用户任务 {task_id} 没有候选角色")
    expect(page.locator(".govflow-problem-badge")).to_have_count(1)
    badge.hover()
    expect(badge.locator(".govflow-problem-messages")).to_be_visible()
    page.evaluate("id => editor.markSystemBound([{element_id: id, reason: 'app.sharing.flows 使用此任务'}])",
                  task_id)
    expect(page.locator(f'.govflow-bound-badge[data-element-id="{task_id}"]')).to_have_text("系统绑定")
    screenshot("problem-marker")
    page.evaluate("() => editor.showProblems([])")
    expect(page.locator(".govflow-problem-badge")).to_have_count(0)
    expect(page.locator(".djs-element.govflow-problem")).to_have_count(0)


def test_bad_xml_is_refused_in_chinese(page, live_server) -> None:  # type: ignore[no-untyped-def]
    _open_modeler(page, live_server)
    message = page.evaluate("() => editor.open('<bpmn:definitions').then(() => 'opened', (e) => e.message)")
    assert message.startswith("无法打开：")


def test_the_diff_is_drawn_in_colour(page, live_server, expect, screenshot) -> None:  # type: ignore[no-untyped-def]
    base = (ROOT / "bpmn" / "sharing_share_request.bpmn").read_text()
    page.set_content(PAGE.replace('<div id="canvas"></div><div id="panel"></div>', '<div id="diff"></div>'))
    page.add_style_tag(url=f"{live_server}/static/vendor/govflow-modeler.css")
    page.add_script_tag(url=f"{live_server}/static/vendor/govflow-modeler.js")
    # The new version: the refusal script task is gone, the review is renamed, a task is added.
    page.evaluate("""async (base) => {
        const scratch = document.createElement('div');
        scratch.style.cssText = 'width:800px;height:600px;position:absolute;left:-9999px';
        document.body.appendChild(scratch);
        const editor = GovFlowModeler.create({container: scratch});
        await editor.open(base);
        const m = editor.modeler, registry = m.get('elementRegistry'), modeling = m.get('modeling');
        modeling.removeElements([registry.get('refuse_not_shared')]);
        modeling.updateLabel(registry.get('review'), '审核共享申请（新）');
        const added = modeling.appendShape(registry.get('record_reply'), {type: 'bpmn:UserTask'});
        modeling.updateProperties(added, {id: 'notify'});
        window.newXml = await editor.save();
        editor.destroy();
        scratch.remove();
    }""", base)
    diff = {
        "added": [{"id": "notify", "type": "bpmn:UserTask", "name": ""}],
        "removed": [{"id": "refuse_not_shared", "type": "bpmn:ScriptTask", "name": "依目录不予共享"}],
        "changed": [{"id": "review", "type": "bpmn:UserTask", "name": "审核共享申请（新）",
                     "properties": [{"name": "name", "label": "名称", "old": "审核共享申请", "new": "审核共享申请（新）"}]},
                    {"id": "sharing_share_request", "type": "bpmn:Process", "name": "政务数据共享申请（第十六条）",
                     "properties": [{"name": "documentation", "label": "说明", "old": "Art. 16", "new": "第十六条"}]}],
    }
    page.evaluate("""async ([base, diff]) => {
        window.view = await GovFlowModeler.drawDiff({container: document.getElementById('diff'), xml: window.newXml,
                                                     baseXml: base, diff});
    }""", [base, diff])
    panes = page.locator(".govflow-diff-pane")
    expect(panes).to_have_count(2)
    new, old = panes.nth(0), panes.nth(1)
    expect(new.locator('.djs-element.govflow-diff-added[data-element-id="notify"]')).to_have_count(1)
    expect(new.locator('.djs-element.govflow-diff-changed[data-element-id="review"]')).to_have_count(1)
    expect(new.locator('[data-element-id="refuse_not_shared"]')).to_have_count(0)
    expect(old.locator('.djs-element.govflow-diff-removed[data-element-id="refuse_not_shared"]')).to_have_count(1)
    changed = new.locator(".govflow-diff-badge-changed")
    expect(changed).to_have_attribute("title", "名称：审核共享申请 → 审核共享申请（新）")
    changed.hover()
    expect(changed.locator(".govflow-diff-details")).to_be_visible()
    expect(page.locator(".govflow-diff-legend")).to_contain_text("新增 1")
    # The process's own change has no shape: the legend names it.
    expect(page.locator(".govflow-diff-offcanvas")).to_have_attribute(
        "title", "修改 政务数据共享申请（第十六条）（说明：Art. 16 → 第十六条）")
    screenshot("diff")
