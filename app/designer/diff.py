"""Element-level diff of two BPMN files, with the changed properties labelled in Chinese."""

from __future__ import annotations

from typing import Any

from app.engine.bpmn import BPMN_NS, CAMUNDA_NS, parse_xml, running_pools

_B = f"{{{BPMN_NS}}}"
_C = f"{{{CAMUNDA_NS}}}"

# Flow elements compared by id (what a person draws): tasks, events, gateways, flows, subprocesses, lanes.
_COMPARED = {
    "userTask", "scriptTask", "task", "manualTask", "serviceTask", "sendTask", "receiveTask", "businessRuleTask",
    "callActivity", "subProcess", "transaction", "adHocSubProcess", "startEvent", "endEvent",
    "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent", "exclusiveGateway", "parallelGateway",
    "inclusiveGateway", "eventBasedGateway", "complexGateway", "sequenceFlow", "lane",
}

TYPE_ZH = {
    "userTask": "用户任务", "scriptTask": "脚本任务", "task": "任务", "manualTask": "手工任务",
    "serviceTask": "服务任务", "sendTask": "发送任务", "receiveTask": "接收任务", "businessRuleTask": "业务规则任务",
    "callActivity": "调用活动", "subProcess": "子流程", "transaction": "事务子流程", "adHocSubProcess": "自由子流程",
    "startEvent": "开始事件", "endEvent": "结束事件", "intermediateCatchEvent": "中间捕获事件",
    "intermediateThrowEvent": "中间抛出事件", "boundaryEvent": "边界事件", "exclusiveGateway": "排他网关",
    "parallelGateway": "并行网关", "inclusiveGateway": "包容网关", "eventBasedGateway": "事件网关",
    "complexGateway": "复杂网关", "sequenceFlow": "顺序流", "lane": "泳道",
}

# (property name, Chinese label), in the order a reviewer reads them.
LABELS: tuple[tuple[str, str], ...] = (
    ("name", "名称"), ("type", "类型"), ("candidateGroups", "候选角色"), ("dueDate", "办理期限"),
    ("limit", "办理期限（法定时限）"), ("form", "表单字段"), ("condition", "条件"), ("script", "脚本"),
    ("sourceRef", "起点"), ("targetRef", "终点"), ("timer", "定时器"), ("attachedToRef", "附着于"),
    ("cancelActivity", "中断任务"), ("loop", "循环条件"), ("default", "默认流"), ("properties", "扩展属性"),
    ("documentation", "说明"),
)
_LABEL = dict(LABELS)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text(el: Any) -> str | None:
    if el is None:
        return None
    text = (el.text or "").strip()
    return text or None


def _form(el: Any) -> str | None:
    parts = []
    for field in el.iterfind(f"{_B}extensionElements/{_C}formData/{_C}formField"):
        required = any(c.get("name") == "required" and (c.get("config") or "").lower() != "false"
                       for c in field.iter(f"{_C}constraint"))
        options = [v.get("id", "") for v in field.iter(f"{_C}value")]
        desc = f"{field.get('id', '')}（{field.get('label') or field.get('id', '')}，{field.get('type') or 'string'}"
        if required:
            desc += "，必填"
        if options:
            desc += f"，选项：{'/'.join(options)}"
        parts.append(desc + "）")
    return "；".join(parts) or None


def _properties(el: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for prop in el.iterfind(f"{_B}extensionElements/{_C}properties/{_C}property"):
        out[prop.get("name") or prop.get("id") or ""] = prop.get("value") or ""
    return out


def _timer(el: Any) -> str | None:
    for definition in el.iterfind(f"{_B}timerEventDefinition"):
        for child in definition:
            if isinstance(child.tag, str) and _local(child.tag) in ("timeDate", "timeDuration", "timeCycle"):
                return f"{_local(child.tag)}: {_text(child) or ''}"
    return None


def describe_element(el: Any) -> dict[str, str | None]:
    """Return the compared properties of one flow element as plain strings (None: not set)."""
    kind = _local(el.tag)
    props = _properties(el)
    script = el.find(f"{_B}script")
    loop = el.find(f"{_B}standardLoopCharacteristics/{_B}loopCondition")
    docs = [_text(d) for d in el.iterfind(f"{_B}documentation")]
    other = {k: v for k, v in props.items() if k != "limit"}
    values: dict[str, str | None] = {
        "name": el.get("name") or None,
        "type": TYPE_ZH.get(kind, kind),
        "candidateGroups": el.get(f"{_C}candidateGroups") or None,
        "dueDate": el.get(f"{_C}dueDate") or None,
        "limit": props.get("limit") or None,
        "form": _form(el),
        "condition": _text(el.find(f"{_B}conditionExpression")),
        "script": _text(script),
        "sourceRef": el.get("sourceRef"),
        "targetRef": el.get("targetRef"),
        "timer": _timer(el),
        "attachedToRef": el.get("attachedToRef"),
        "cancelActivity": el.get("cancelActivity") if kind == "boundaryEvent" else None,
        "loop": _text(loop),
        "default": el.get("default"),
        "properties": "；".join(f"{k}={v}" for k, v in sorted(other.items())) or None,
        "documentation": "\n".join(d for d in docs if d) or None,
    }
    if kind == "lane":
        values["properties"] = "、".join(sorted(_text(r) or "" for r in el.iterfind(f"{_B}flowNodeRef"))) or None
    return values


def elements(xml: bytes | None) -> dict[str, tuple[str, dict[str, str | None]]]:
    """Return {id: (BPMN type, properties)} of the executable process's flow elements, in document order."""
    if not xml:
        return {}
    root = parse_xml(xml)
    out: dict[str, tuple[str, dict[str, str | None]]] = {}
    for process in running_pools(root):  # a collaboration: each of its executable pools
        for el in process.iter():
            if isinstance(el.tag, str) and el.tag.startswith(_B) and _local(el.tag) in _COMPARED and el.get("id"):
                out[el.get("id")] = (_local(el.tag), describe_element(el))
    return out


def diff(old_xml: bytes | None, new_xml: bytes) -> dict[str, list[dict[str, Any]]]:
    """Compare two BPMN files element by element (old None: a new process, everything is added)."""
    old, new = elements(old_xml), elements(new_xml)
    added = [{"id": i, "type": t, "name": p["name"]} for i, (t, p) in new.items() if i not in old]
    removed = [{"id": i, "type": t, "name": p["name"]} for i, (t, p) in old.items() if i not in new]
    changed = []
    for element_id, (kind, props) in new.items():
        if element_id not in old:
            continue
        before = old[element_id][1]
        properties = [{"name": name, "label": _LABEL[name], "old": before.get(name), "new": props.get(name)}
                      for name, _ in LABELS if before.get(name) != props.get(name)]
        if properties:
            changed.append({"id": element_id, "type": kind, "name": props["name"] or before["name"],
                            "properties": properties})
    return {"added": added, "removed": removed, "changed": changed}
