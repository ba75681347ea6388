"""Deploy-time refusal of waits GovFlow can never end (issue 16: no instance left stuck).

An instance moves on from a wait only when something delivers what it waits for. What GovFlow delivers:

- a person, to a user task (its inbox);
- the scheduler, to a timer (timeDate, timeDuration, timeCycle: `next_timer_at`);
- POST /api/messages, to a message catch event, a receive task, a message boundary event (by name);
- the instance itself, to a signal catch when the same file throws that signal (a parallel branch, a
  subprocess): SpiffWorkflow hands a thrown signal to every catch of the instance. Nothing else sends
  signals: there is no signal API, and one instance's signals never reach another.

What it does not: a conditional event is evaluated once, when the token arrives, and never again (no
variable change re-evaluates it); SpiffWorkflow does not implement link events (the token ends at the throw,
the catch is never reached) nor compensation (a compensation boundary event fails to parse, a throw does
nothing); an error, escalation or compensation definition on an intermediate catch event is not valid BPMN
and SpiffWorkflow passes the event by without waiting. A timer needs timeDate, timeDuration or timeCycle.

Refused here, naming the element, with code `undeliverable_wait`: a catch event (or a start event of the
process itself) that waits only for something never delivered, an event-based gateway all of whose branches
are such waits or whose branches are not catch events, link and compensation events, error/escalation/
compensation intermediate catch events, and timers without a time. Not refused: boundary events of those
kinds (the activity they sit on still ends the wait), event subprocesses' start events (they wait beside the
process, never in its way), and 'none' intermediate catch events (passed through, like Camunda's).
"""

from __future__ import annotations

from typing import Any

_BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
CODE = "undeliverable_wait"
Problems = list[tuple[str | None, str, str]]

_KIND_ZH = {
    "signal": "信号", "conditional": "条件", "error": "错误", "escalation": "升级", "compensate": "补偿",
    "link": "链接", "timer": "定时", "message": "消息", "terminate": "终止", "cancel": "取消",
}
_DEFINITIONS = {f"{_BPMN}{kind}EventDefinition": kind for kind in _KIND_ZH}
_GATEWAY_TARGETS = {f"{_BPMN}intermediateCatchEvent", f"{_BPMN}receiveTask"}
_NOT_INTERMEDIATE = ("error", "escalation", "compensate")


def _t(local: str) -> str:
    return f"{_BPMN}{local}"


def _definitions(el: Any) -> list[tuple[str, Any]]:
    return [(_DEFINITIONS[child.tag], child) for child in el if isinstance(child.tag, str) and child.tag in _DEFINITIONS]


def _label(el: Any) -> str:
    name = (el.get("name") or "").strip()
    element = el.get("id") or ""
    return f"“{name}”（{element}）" if name and name != element else element


def _signal_name(definition: Any, owner: Any, signals: dict[str, str]) -> str:
    ref = definition.get("signalRef")
    if ref:
        return signals.get(ref) or ref
    return (owner.get("name") or "").strip()


def _in_event_subprocess(el: Any) -> bool:
    parent = el.getparent()
    return parent is not None and parent.tag == _t("subProcess") and \
        (parent.get("triggeredByEvent") or "").strip().lower() == "true"


def lint_waits(root: Any) -> Problems:
    """Return the waits of a BPMN file GovFlow could never end, in Chinese, naming each element."""
    problems: Problems = []
    signals = {el.get("id"): (el.get("name") or el.get("id") or "").strip() for el in root.iter(_t("signal"))}
    thrown = {_signal_name(d, owner, signals)
              for owner in root.iter(_t("intermediateThrowEvent"), _t("endEvent"))
              for kind, d in _definitions(owner) if kind == "signal"}

    def undeliverable(kind: str, definition: Any, owner: Any) -> str | None:
        """Say why a wait for this one definition never ends (None: something delivers it)."""
        if kind == "signal":
            name = _signal_name(definition, owner, signals)
            if name not in thrown:
                return (f"等待信号“{name}”，但本文件中没有抛出该信号的事件；本系统没有投递信号的接口，"
                        "其他流程实例抛出的信号也不会送达本实例：请改用消息事件（外部系统经 POST /api/messages 投递），"
                        "或在本流程中画出抛出该信号的事件")
            return None
        if kind == "conditional":
            return ("条件事件只在流程到达时判断一次，此后流程变量变化不会重新判断，条件不成立时实例将永远停在此处："
                    "请改用排他网关判断条件，或用消息事件、用户任务等待")
        if kind == "link":
            return "链接事件（linkEventDefinition）不受支持：流程不会从抛出处跳到捕获处；请直接画顺序流"
        return None

    flows: dict[str, list[str]] = {}
    elements: dict[str, Any] = {}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if el.get("id"):
            elements[el.get("id")] = el
        if el.tag == _t("sequenceFlow"):
            flows.setdefault(el.get("sourceRef") or "", []).append(el.get("targetRef") or "")

    # A gateway's branch is judged with the gateway: one branch nothing delivers is a branch never taken.
    branches = {target for gateway in root.iter(_t("eventBasedGateway"))
                for target in flows.get(gateway.get("id") or "", [])}
    for el in root.iter(_t("intermediateCatchEvent"), _t("intermediateThrowEvent"), _t("startEvent"),
                        _t("endEvent"), _t("boundaryEvent")):
        definitions = _definitions(el)
        kinds = [kind for kind, _ in definitions]
        label = _label(el)
        for kind, definition in definitions:
            if kind == "timer" and not any(definition.find(_t(local)) is not None
                                           for local in ("timeDate", "timeDuration", "timeCycle")):
                problems.append((el.get("id"), f"定时器 {label}：未设置时间（timeDate、timeDuration 或 timeCycle），"
                                               "调度器不知何时触发", CODE))
            if kind == "link":
                problems.append((el.get("id"), f"元素 {label}：链接事件（linkEventDefinition）不受支持："
                                               "流程不会从抛出处跳到捕获处，会在抛出处结束；请直接画顺序流", CODE))
            elif kind == "compensate":
                problems.append((el.get("id"), f"元素 {label}：补偿事件（compensateEventDefinition）不受支持："
                                               "本系统不执行补偿；撤销已办步骤请画出办理撤销的用户任务", CODE))
        if el.tag == _t("intermediateCatchEvent"):
            wrong = [kind for kind in kinds if kind in ("error", "escalation")]
            if wrong:
                what = "、".join(_KIND_ZH[k] for k in wrong)
                problems.append((el.get("id"), f"中间捕获事件 {label}：{what}事件不能作为中间捕获事件（BPMN 只允许用"
                                               "边界事件或事件子流程捕获），本系统会直接越过它而不等待；"
                                               "请改用附在活动上的边界事件", CODE))
                continue
            if el.get("id") not in branches:
                _check_wait(el, definitions, undeliverable, problems, "中间捕获事件")
        elif el.tag == _t("startEvent") and not _in_event_subprocess(el):
            parent = el.getparent()
            if parent is not None and parent.tag == _t("process"):
                # Nothing runs in an instance before its start event: only a timer can end this wait.
                for kind, _ in definitions:
                    if kind in ("signal", "conditional"):
                        problems.append((el.get("id"), f"启动事件 {label}：{_KIND_ZH[kind]}启动事件不受支持："
                                                       "实例由本系统启动后会永远停在启动事件处；请用普通启动事件", CODE))

    for gateway in root.iter(_t("eventBasedGateway")):
        label = _label(gateway)
        targets = [elements.get(target) for target in flows.get(gateway.get("id") or "", [])]
        bad = [t.get("id") if t is not None else "?" for t in targets if t is None or t.tag not in _GATEWAY_TARGETS]
        if bad:
            problems.append((gateway.get("id"), f"基于事件的网关 {label}：出口只能连到中间捕获事件或接收任务，"
                                                f"不能连到 {'、'.join(bad)}", CODE))
            continue
        reasons: list[str] = []
        for target in targets:
            if target.tag == _t("receiveTask"):
                reasons = []
                break
            definitions = _definitions(target)
            why = _why_stuck(target, definitions, undeliverable)
            if why is None:
                reasons = []
                break
            reasons.append(f"{_label(target)}：{why}")
        if reasons:
            problems.append((gateway.get("id"), f"基于事件的网关 {label}：没有一个分支能等到结束——"
                                                + "；".join(reasons), CODE))
    return problems


def _why_stuck(el: Any, definitions: list[tuple[str, Any]], undeliverable: Any) -> str | None:
    """Say why a catch waits for ever (None when something can end it)."""
    parallel = (el.get("parallelMultiple") or "").strip().lower() == "true"
    reasons = [(kind, undeliverable(kind, d, el)) for kind, d in definitions]
    if not reasons:
        return None  # a 'none' catch event: passed through
    stuck = [why for _, why in reasons if why is not None]
    if (parallel and stuck) or (not parallel and len(stuck) == len(reasons)):
        return stuck[0]
    return None


def _check_wait(el: Any, definitions: list[tuple[str, Any]], undeliverable: Any, problems: Problems,
                kind_zh: str) -> None:
    if any(kind == "link" for kind, _ in definitions):
        return  # refused as a link event already
    why = _why_stuck(el, definitions, undeliverable)
    if why is not None:
        problems.append((el.get("id"), f"{kind_zh} {_label(el)}：{why}", CODE))
