"""Deploy-time lint and metadata: what describe() reads and what it refuses, by element id."""

from __future__ import annotations

import pytest

from app.engine.bpmn import FormField, describe
from app.engine.errors import BpmnRejected
from tests.engine.support import NAMESPACES, fixture, linear


def rejected(xml: bytes) -> BpmnRejected:
    """Return the BpmnRejected that describe() raises for the file."""
    with pytest.raises(BpmnRejected) as caught:
        describe(xml)
    assert caught.value.code == "bpmn_rejected"
    assert caught.value.status_code == 422
    return caught.value


# -- metadata ---------------------------------------------------------------------------------


def test_describe_reads_process_and_user_task_metadata() -> None:
    deployed = describe(fixture("metadata").xml)

    assert deployed.process_key == "test_metadata"
    assert deployed.name == "共享申请审核（元数据）"
    assert deployed.has_timers is False
    assert set(deployed.user_tasks) == {"reply", "review"}

    reply = deployed.user_tasks["reply"]
    assert reply.name == "提供部门答复"
    assert reply.candidate_groups == ("provider_admin", "provider_reviewer")
    assert reply.candidate_users == ("alice", "bob")
    assert reply.assignee == "carol"
    assert reply.due_date == "5WD"
    assert reply.priority == "50"
    assert reply.lane == "提供部门"
    assert reply.properties == {"department": "provider_department", "article": "16"}


def test_describe_reads_form_fields_in_document_order() -> None:
    form = describe(fixture("metadata").xml).user_tasks["reply"].form

    assert [field.id for field in form] == ["decision", "reason", "items", "copies", "attachment"]
    decision, reason, items, copies, attachment = form
    assert decision == FormField(
        id="decision", label="答复意见", type="enum", required=True,
        options=(("agree", "同意共享"), ("conditional", "有条件共享"), ("refuse", "不予共享")),
        default="agree", constraints={"required": ""}, properties={},
    )
    assert reason.required is False
    assert reason.constraints == {"minlength": "5", "maxlength": "500"}
    assert items.properties == {"multiple": "true", "options_from": "items"}
    assert (copies.type, copies.default, copies.constraints) == ("long", "1", {"min": "1", "max": "10"})
    assert attachment.type == "file_upload"  # custom types are kept as written


def test_task_in_embedded_subprocess_takes_the_subprocess_lane() -> None:
    review = describe(fixture("metadata").xml).user_tasks["review"]

    assert review.candidate_groups == ("supervisor",)
    assert review.due_date == "3WD"
    assert review.lane == "提供部门"


def test_has_timers_is_set_when_a_timer_is_modelled() -> None:
    assert describe(fixture("timer").xml).has_timers is True


def test_same_bytes_give_the_same_hash_and_other_bytes_another() -> None:
    xml = fixture("review").xml

    assert describe(xml).content_hash == describe(bytes(xml)).content_hash
    assert len(describe(xml).content_hash) == 64
    assert describe(xml + b"\n").content_hash != describe(xml).content_hash


# -- lint refusals: one per kind, each naming the element ----------------------------------------

REFUSALS: dict[str, tuple[bytes, str]] = {
    "java_class": (linear('<bpmn:userTask id="java_task" camunda:class="gov.example.Delegate" />'),
                   "java_task"),
    "delegate_expression": (
        linear('<bpmn:userTask id="delegate_task" camunda:delegateExpression="myBean" />'), "delegate_task"),
    "camunda_expression": (linear(
        '<bpmn:intermediateThrowEvent id="notify"><bpmn:messageEventDefinition '
        'camunda:expression="payload" /></bpmn:intermediateThrowEvent>'), "notify"),
    "service_task": (linear('<bpmn:serviceTask id="call_service" />'), "call_service"),
    "send_task": (linear('<bpmn:sendTask id="send_letter" />'), "send_letter"),
    "receive_task": (linear('<bpmn:receiveTask id="await_letter" />'), "await_letter"),
    "execution_listener": (linear(
        '<bpmn:userTask id="listened"><bpmn:extensionElements>'
        '<camunda:executionListener event="start">'
        '<camunda:script scriptFormat="python">x = 1</camunda:script>'
        '</camunda:executionListener></bpmn:extensionElements></bpmn:userTask>'), "listened"),
    "task_listener": (linear(
        '<bpmn:userTask id="task_listened"><bpmn:extensionElements>'
        '<camunda:taskListener event="create" /></bpmn:extensionElements></bpmn:userTask>'), "task_listened"),
    "input_output": (linear(
        '<bpmn:userTask id="mapped"><bpmn:extensionElements><camunda:inputOutput>'
        '<camunda:inputParameter name="a">1</camunda:inputParameter>'
        '</camunda:inputOutput></bpmn:extensionElements></bpmn:userTask>'), "mapped"),
    "connector": (linear(
        '<bpmn:userTask id="connected"><bpmn:extensionElements><camunda:connector>'
        '<camunda:connectorId>http-connector</camunda:connectorId>'
        '</camunda:connector></bpmn:extensionElements></bpmn:userTask>'), "connected"),
    "call_activity_without_target": (linear('<bpmn:callActivity id="call_other" />'), "call_other"),
    "business_rule_task": (linear('<bpmn:businessRuleTask id="decide" camunda:decisionRef="rules" />'),
                           "decide"),
    # Multi-instance runs on user tasks, subprocesses, call activities, script and plain tasks
    # (tests/engine/test_multi_instance_elements.py), also in the standard loopDataInputRef form
    # (test_multi_instance_data.py); half of the output pair, complexBehaviorDefinition and a receive task are refused.
    "multi_instance_output_without_item": (linear(
        '<bpmn:subProcess id="per_item"><bpmn:multiInstanceLoopCharacteristics>'
        '<bpmn:loopDataInputRef>items</bpmn:loopDataInputRef><bpmn:loopDataOutputRef>outs</bpmn:loopDataOutputRef>'
        '<bpmn:inputDataItem id="item" /></bpmn:multiInstanceLoopCharacteristics>'
        '<bpmn:startEvent id="sp_start" /></bpmn:subProcess>'), "per_item"),
    "multi_instance_complex_behavior": (linear(
        '<bpmn:subProcess id="per_item"><bpmn:multiInstanceLoopCharacteristics>'
        '<bpmn:loopDataInputRef>items</bpmn:loopDataInputRef><bpmn:inputDataItem id="item" />'
        '<bpmn:complexBehaviorDefinition id="cb" /></bpmn:multiInstanceLoopCharacteristics>'
        '<bpmn:startEvent id="sp_start" /></bpmn:subProcess>'), "per_item"),
    "multi_instance_on_a_receive_task": (linear(
        '<bpmn:receiveTask id="wait_each" messageRef="m"><bpmn:multiInstanceLoopCharacteristics '
        'camunda:collection="items" camunda:elementVariable="item" /></bpmn:receiveTask>',
        extra='</bpmn:process><bpmn:message id="m" name="答复" /><bpmn:process id="unused" isExecutable="false">'),
        "wait_each"),
    "juel_in_attribute": (linear('<bpmn:userTask id="juel_assignee" camunda:assignee="#{starter}" />'),
                          "juel_assignee"),
    # JUEL conditions of the common subset deploy (tests/engine/test_juel.py); the rest is refused.
    "juel_method_call_in_condition": (linear(
        '<bpmn:exclusiveGateway id="gw" default="flow_2" />',
        extra='<bpmn:sequenceFlow id="juel_flow" sourceRef="gw" targetRef="end">'
              '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${items.size() &gt; 0}'
              '</bpmn:conditionExpression>'
              '</bpmn:sequenceFlow>'), "juel_flow"),
    "juel_composite_in_condition": (linear(
        '<bpmn:exclusiveGateway id="gw" default="flow_2" />',
        extra='<bpmn:sequenceFlow id="juel_flow" sourceRef="gw" targetRef="end">'
              '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${a}${b}'
              '</bpmn:conditionExpression>'
              '</bpmn:sequenceFlow>'), "juel_flow"),
    "juel_in_form_default": (linear(
        '<bpmn:userTask id="juel_default" camunda:candidateGroups="clerk"><bpmn:extensionElements>'
        '<camunda:formData><camunda:formField id="amount" label="金额" type="long" defaultValue="${limit}" />'
        '</camunda:formData></bpmn:extensionElements></bpmn:userTask>'), "juel_default"),
    "typename_form_field": (linear(
        '<bpmn:userTask id="bad_form"><bpmn:extensionElements><camunda:formData>'
        '<camunda:formField id="typename" label="类型" type="string" />'
        '</camunda:formData></bpmn:extensionElements></bpmn:userTask>'), "bad_form"),
    "typename_in_script": (linear(
        '<bpmn:scriptTask id="bad_script"><bpmn:script>typename = "x"</bpmn:script></bpmn:scriptTask>'),
        "bad_script"),
    "typename_data_object": (linear('<bpmn:dataObject id="typename" />'), "typename"),
    "script_format": (linear(
        '<bpmn:scriptTask id="js_script" scriptFormat="javascript"><bpmn:script>x = 1</bpmn:script>'
        '</bpmn:scriptTask>'), "js_script"),
    "script_does_not_compile": (linear(
        '<bpmn:scriptTask id="evil_script"><bpmn:script>__import__("os").system("id")</bpmn:script>'
        '</bpmn:scriptTask>'), "evil_script"),
    "condition_does_not_compile": (linear(
        '<bpmn:exclusiveGateway id="gw" default="flow_default" />',
        extra='<bpmn:sequenceFlow id="evil_flow" sourceRef="gw" targetRef="end">'
              '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">().__class__.__base__'
              '</bpmn:conditionExpression></bpmn:sequenceFlow>'), "evil_flow"),
    "timer_does_not_compile": (linear(
        '<bpmn:userTask id="wait_here" />',
        extra='<bpmn:boundaryEvent id="evil_timer" attachedToRef="wait_here"><bpmn:timerEventDefinition>'
              '<bpmn:timeDate>[c for c in ().__class__.__mro__]</bpmn:timeDate>'
              '</bpmn:timerEventDefinition></bpmn:boundaryEvent>'), "evil_timer"),
    "timer_iso_literal_unquoted": (linear(
        '<bpmn:intermediateCatchEvent id="wait_5d"><bpmn:timerEventDefinition>'
        '<bpmn:timeDuration>P5D</bpmn:timeDuration></bpmn:timerEventDefinition>'
        '</bpmn:intermediateCatchEvent>'), "wait_5d"),
    "loop_condition_does_not_compile": (linear(
        '<bpmn:subProcess id="evil_loop"><bpmn:standardLoopCharacteristics>'
        '<bpmn:loopCondition xsi:type="bpmn:tFormalExpression">_secret</bpmn:loopCondition>'
        '</bpmn:standardLoopCharacteristics><bpmn:startEvent id="s2" /><bpmn:endEvent id="e2" />'
        '<bpmn:sequenceFlow id="sf2" sourceRef="s2" targetRef="e2" /></bpmn:subProcess>'), "evil_loop"),
    # Sequence flows drawn back are accepted (tests/engine/test_loops_drawn_back.py), unless a lap
    # could go round without ever waiting.
    "cycle_that_never_waits": (linear(
        '<bpmn:scriptTask id="bump"><bpmn:script>n = n + 1</bpmn:script></bpmn:scriptTask>',
        '<bpmn:exclusiveGateway id="again" default="flow_2" />',
        extra='<bpmn:sequenceFlow id="back" sourceRef="again" targetRef="bump">'
              '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">n &lt; 5</bpmn:conditionExpression>'
              '</bpmn:sequenceFlow>'), "bump"),
    "cycle_inside_subprocess_that_never_waits": (linear(
        '<bpmn:subProcess id="inner"><bpmn:startEvent id="s2" /><bpmn:scriptTask id="fix" />'
        '<bpmn:exclusiveGateway id="check" /><bpmn:endEvent id="e2" />'
        '<bpmn:sequenceFlow id="i1" sourceRef="s2" targetRef="fix" />'
        '<bpmn:sequenceFlow id="i2" sourceRef="fix" targetRef="check" />'
        '<bpmn:sequenceFlow id="i3" sourceRef="check" targetRef="fix" />'
        '<bpmn:sequenceFlow id="i4" sourceRef="check" targetRef="e2" /></bpmn:subProcess>'), "fix"),
    # Named in Chinese by our lint, not by SpiffWorkflow's English "Data Store … has no implementation".
    "data_store": (linear('<bpmn:userTask id="fill" camunda:candidateGroups="clerk" />').replace(
        b'<bpmn:process', '<bpmn:dataStore id="ledger" name="台账" />\n  <bpmn:process'.encode(), 1), "ledger"),
    "data_store_reference": (linear(
        '<bpmn:userTask id="fill" camunda:candidateGroups="clerk"><bpmn:dataOutputAssociation id="out1">'
        '<bpmn:targetRef>store_ref</bpmn:targetRef></bpmn:dataOutputAssociation></bpmn:userTask>',
        extra='<bpmn:dataStoreReference id="store_ref" />'), "store_ref"),
    "spiff_parser_validation": (linear(
        '<bpmn:userTask id="two_ways" />',
        extra='<bpmn:sequenceFlow id="second_way" sourceRef="two_ways" targetRef="end" />'), "two_ways"),
}


@pytest.mark.parametrize("kind", list(REFUSALS))
def test_lint_refuses_naming_the_element(kind: str) -> None:
    xml, element_id = REFUSALS[kind]

    error = rejected(xml)

    assert element_id in error.message_zh
    assert any(problem["element_id"] == element_id for problem in error.extra["problems"])


def test_lint_lists_every_problem_not_just_the_first() -> None:
    xml = linear('<bpmn:serviceTask id="one" />', '<bpmn:sendTask id="two" />',
                 '<bpmn:userTask id="three" camunda:candidateGroups="clerk" camunda:assignee="${x.y}" />')

    ids = {problem["element_id"] for problem in rejected(xml).extra["problems"]}

    assert {"one", "two", "three"} <= ids


def test_async_continuations_are_accepted_and_change_nothing() -> None:
    # Every step runs in the request that causes it; a failing one rolls the request back.
    for flags in ('camunda:asyncBefore="false"', 'camunda:asyncBefore="true"',
                  'camunda:asyncAfter="true" camunda:exclusive="false"', 'camunda:async="true"'):
        described = describe(linear(f'<bpmn:userTask id="task" camunda:candidateGroups="clerk" {flags} />'))
        assert list(described.user_tasks) == ["task"]


def test_doctype_and_entities_are_refused() -> None:
    xml = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true"><bpmn:documentation>&lol2;</bpmn:documentation></bpmn:process>
</bpmn:definitions>"""

    assert "DOCTYPE" in rejected(xml).message_zh


def test_external_entity_is_refused_without_being_fetched() -> None:
    xml = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true"><bpmn:documentation>&xxe;</bpmn:documentation></bpmn:process>
</bpmn:definitions>"""

    error = rejected(xml)

    assert "root:" not in error.message_zh


def test_not_xml_is_refused() -> None:
    assert "XML" in rejected(b"<bpmn:definitions").message_zh


@pytest.mark.parametrize("count", [0, 2])
def test_exactly_one_executable_process_is_required(count: int) -> None:
    processes = "".join(
        f'<bpmn:process id="p{i}" isExecutable="true"><bpmn:startEvent id="s{i}" /></bpmn:process>'
        for i in range(count)
    )
    xml = (f'<bpmn:definitions {NAMESPACES} id="d" targetNamespace="t">{processes}'
           f'<bpmn:process id="other" isExecutable="false" /></bpmn:definitions>').encode()

    assert "恰好有一个可执行流程" in rejected(xml).message_zh


def test_a_user_task_without_candidate_groups_is_refused_as_nobody_would_see_it() -> None:
    error = rejected(linear('<bpmn:userTask id="orphan" name="无人可见" />'))

    assert [(p["element_id"], p["code"]) for p in error.extra["problems"]] == [("orphan", "no_candidates")]
    assert "待办" in error.extra["problems"][0]["message"]


@pytest.mark.parametrize("element", [
    '<bpmn:serviceTask id="java_step" camunda:class="gov.example.Delegate" />',
    '<bpmn:serviceTask id="java_step" camunda:delegateExpression="${grantDelegate}" />',
    '<bpmn:serviceTask id="java_step" camunda:expression="${exchange.grant(execution)}" />',
    '<bpmn:serviceTask id="java_step" />',
    '<bpmn:sendTask id="java_step" camunda:class="gov.example.Mailer" />',
    '<bpmn:businessRuleTask id="java_step" camunda:expression="${rules.decide()}" />',
    '<bpmn:userTask id="java_step" camunda:candidateGroups="clerk"><bpmn:extensionElements>'
    '<camunda:executionListener event="end" class="gov.example.Listener" /></bpmn:extensionElements></bpmn:userTask>',
], ids=["class", "delegate_expression", "expression", "plain_service_task", "send_task_class",
        "business_rule_expression", "listener_class"])
def test_java_only_steps_are_refused_pointing_to_an_external_task(element: str) -> None:
    problems = rejected(linear(element)).extra["problems"]

    assert problems and all(p["element_id"] == "java_step" for p in problems)
    assert all(p["code"] == "unsupported" for p in problems)
    # One problem says to use an external task topic instead; a Java delegate's JUEL is not
    # reported a second time as an expression.
    assert any('camunda:type="external"' in p["message"] and "camunda:topic" in p["message"] for p in problems)


def test_each_problem_carries_the_code_of_its_kind() -> None:
    xml = linear('<bpmn:serviceTask id="one" />', '<bpmn:scriptTask id="two"><bpmn:script>import os</bpmn:script>'
                 '</bpmn:scriptTask>')

    codes = {(p["element_id"], p["code"]) for p in rejected(xml).extra["problems"]}

    assert {("one", "unsupported"), ("two", "script")} <= codes
