"""Deploy refuses a wait GovFlow can never end (code undeliverable_wait, naming the element, in Chinese) and
accepts every wait something delivers."""

from __future__ import annotations

import pytest

from app.engine.bpmn import describe
from app.engine.core import Engine
from app.engine.errors import BpmnRejected
from tests.engine.support import NAMESPACES, definition

TOP = ('<bpmn:signal id="s_ready" name="材料齐全" /><bpmn:message id="m_reply" name="复函" />'
       '<bpmn:escalation id="e_up" name="上报" escalationCode="UP" />')


def _file(body: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NAMESPACES} id="d" targetNamespace="http://govflow.example/bpmn">{TOP}
  <bpmn:process id="test_waits" isExecutable="true">{body}</bpmn:process>
</bpmn:definitions>""".encode()


def _ut(element: str) -> str:
    return f'<bpmn:userTask id="{element}" name="办理" camunda:candidateGroups="clerk" />'


def _chain(*elements: str) -> str:
    """start → elements… → end, each element given as (id, xml)."""
    ids = ["start", *(e.split('id="', 1)[1].split('"', 1)[0] for e in elements), "end"]
    flows = "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}" />'
                    for i, (a, b) in enumerate(zip(ids, ids[1:])))
    return '<bpmn:startEvent id="start" />' + "".join(elements) + '<bpmn:endEvent id="end" />' + flows


def _catch(element: str, inner: str, name: str = "等待") -> str:
    return f'<bpmn:intermediateCatchEvent id="{element}" name="{name}">{inner}</bpmn:intermediateCatchEvent>'


SIGNAL = '<bpmn:signalEventDefinition signalRef="s_ready" />'
CONDITION = '<bpmn:conditionalEventDefinition><bpmn:condition>ready</bpmn:condition></bpmn:conditionalEventDefinition>'
TIMER = '<bpmn:timerEventDefinition><bpmn:timeDuration>"P5D"</bpmn:timeDuration></bpmn:timerEventDefinition>'
MESSAGE = '<bpmn:messageEventDefinition messageRef="m_reply" />'


def _refused(xml: bytes) -> list[tuple[str | None, str, str]]:
    with pytest.raises(BpmnRejected) as exc:
        describe(xml)
    return [(element, code, message) for element, message, code in exc.value.problems]


def _gateway(*branches: tuple[str, str]) -> str:
    body = '<bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="gw" />' \
           '<bpmn:eventBasedGateway id="gw" name="等待" />'
    for i, (element, inner) in enumerate(branches):
        body += (f'<bpmn:sequenceFlow id="g{i}" sourceRef="gw" targetRef="{element}" />{_catch(element, inner)}'
                 f'<bpmn:sequenceFlow id="h{i}" sourceRef="{element}" targetRef="end{i}" /><bpmn:endEvent id="end{i}" />')
    return body


@pytest.mark.parametrize(("body", "element", "says"), [
    (_chain(_catch("wait", SIGNAL)), "wait", "等待信号“材料齐全”，但本文件中没有抛出该信号的事件"),
    (_chain(_catch("wait", CONDITION)), "wait", "条件事件只在流程到达时判断一次"),
    (_chain(_catch("wait", '<bpmn:errorEventDefinition />')), "wait", "错误事件不能作为中间捕获事件"),
    (_chain(_catch("wait", '<bpmn:escalationEventDefinition escalationRef="e_up" />')), "wait", "升级事件不能作为中间捕获事件"),
    (_chain(_catch("wait", '<bpmn:timerEventDefinition />')), "wait", "未设置时间（timeDate、timeDuration 或 timeCycle）"),
    (_chain('<bpmn:intermediateThrowEvent id="jump"><bpmn:linkEventDefinition name="L" /></bpmn:intermediateThrowEvent>'),
     "jump", "链接事件（linkEventDefinition）不受支持"),
    (_chain(_ut("review")) + '<bpmn:boundaryEvent id="undo" attachedToRef="review"><bpmn:compensateEventDefinition />'
     '</bpmn:boundaryEvent>', "undo", "补偿事件（compensateEventDefinition）不受支持"),
    (_chain(_ut("review")).replace('<bpmn:startEvent id="start" />',
                                   f'<bpmn:startEvent id="start">{SIGNAL}</bpmn:startEvent>'), "start", "信号启动事件不受支持"),
    (_chain(_ut("review")).replace('<bpmn:startEvent id="start" />',
                                   f'<bpmn:startEvent id="start">{CONDITION}</bpmn:startEvent>'), "start", "条件启动事件不受支持"),
    (_gateway(("on_signal", SIGNAL), ("on_condition", CONDITION)), "gw", "没有一个分支能等到结束"),
    (_chain('<bpmn:eventBasedGateway id="gw" />', _ut("review")), "gw", "出口只能连到中间捕获事件或接收任务，不能连到 review"),
], ids=["signal_never_thrown", "conditional", "error_catch", "escalation_catch", "timer_without_time", "link",
        "compensation", "signal_start", "conditional_start", "gateway_all_undeliverable", "gateway_to_a_task"])
def test_a_wait_nothing_can_end_is_refused_naming_the_element(body: str, element: str, says: str) -> None:
    problems = _refused(_file(body))
    ours = [(e, m) for e, code, m in problems if code == "undeliverable_wait"]
    assert any(e == element and says in m and element in m for e, m in ours), problems


@pytest.mark.parametrize("body", [
    _chain(_catch("wait", MESSAGE)),
    _chain(_catch("wait", TIMER)),
    _chain(_catch("pass", "")),  # a 'none' catch event is passed through
    _chain(_ut("review")).replace('<bpmn:startEvent id="start" />', f'<bpmn:startEvent id="start">{TIMER}</bpmn:startEvent>'),
    _gateway(("on_signal", SIGNAL), ("on_condition", CONDITION), ("on_reply", MESSAGE)),  # one branch delivers
    _gateway(("on_signal", SIGNAL), ("too_late", TIMER)),
    # Boundary events nothing delivers leave the activity to end the wait: accepted.
    _chain(_ut("review")) + f'<bpmn:boundaryEvent id="b_signal" attachedToRef="review">{SIGNAL}</bpmn:boundaryEvent>'
    f'<bpmn:boundaryEvent id="b_cond" attachedToRef="review" cancelActivity="false">{CONDITION}</bpmn:boundaryEvent>'
    '<bpmn:sequenceFlow id="b1" sourceRef="b_signal" targetRef="e_b1" /><bpmn:endEvent id="e_b1" />'
    '<bpmn:sequenceFlow id="b2" sourceRef="b_cond" targetRef="e_b2" /><bpmn:endEvent id="e_b2" />',
], ids=["message", "timer", "none_catch", "timer_start", "gateway_one_message_branch", "gateway_timer_branch",
        "boundary_signal_and_condition"])
def test_a_wait_something_delivers_is_accepted(body: str) -> None:
    describe(_file(body))


SIGNAL_INSIDE = _file("""
    <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fork" />
    <bpmn:parallelGateway id="fork" />
    <bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="wait_ready" />
    <bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="collect" />
    <bpmn:intermediateCatchEvent id="wait_ready" name="等待材料齐全">
      <bpmn:signalEventDefinition signalRef="s_ready" /></bpmn:intermediateCatchEvent>
    <bpmn:userTask id="collect" name="收齐材料" camunda:candidateGroups="clerk" />
    <bpmn:sequenceFlow id="f4" sourceRef="collect" targetRef="announce" />
    <bpmn:intermediateThrowEvent id="announce" name="材料齐全">
      <bpmn:signalEventDefinition signalRef="s_ready" /></bpmn:intermediateThrowEvent>
    <bpmn:sequenceFlow id="f5" sourceRef="announce" targetRef="join" />
    <bpmn:sequenceFlow id="f6" sourceRef="wait_ready" targetRef="review" />
    <bpmn:userTask id="review" name="审查" camunda:candidateGroups="clerk" />
    <bpmn:sequenceFlow id="f7" sourceRef="review" targetRef="join" />
    <bpmn:parallelGateway id="join" /><bpmn:sequenceFlow id="f8" sourceRef="join" targetRef="end" />
    <bpmn:endEvent id="end" />""")


def test_a_signal_the_same_process_throws_is_accepted_and_delivered(engine: Engine) -> None:
    d = definition(SIGNAL_INSIDE)
    describe(d.xml)
    workflow = engine.start(d.content_hash, d.xml, {})
    for step in ["collect", "review"]:
        workflow = engine.restore(engine.dump(workflow), d.content_hash, d.xml)
        assert [t.task_spec for t in engine.ready_user_tasks(workflow)] == [step]
        engine.complete_user_task(workflow, engine.ready_user_tasks(workflow)[0].id, {})
    workflow = engine.restore(engine.dump(workflow), d.content_hash, d.xml)
    assert engine.is_completed(workflow)
