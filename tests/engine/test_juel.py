"""Camunda 7 JUEL expressions: translated at deploy into sandboxed Python, or refused naming the element.

The translation table is checked twice: the Python text we produce, and what it evaluates to in the
real sandbox (app/engine/sandbox.py) against task data. Our own Camunda-style diagrams
(tests/engine/bpmn/juel_*.bpmn) then deploy and run through the runner, which restores the instance
from the database and saves it again around every step.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.core.clock import clock
from app.engine.bpmn import compile_definition, describe
from app.engine.core import Engine
from app.engine.errors import BpmnRejected, ScriptError
from app.engine.juel import JuelRefused, translate, unset_as_null
from app.engine.models import ProcessDefinition, ProcessInstance
from app.engine.sandbox import RestrictedEnvironment
from app.runtime import Runtime
from tests.designer.migration_helpers import actor, open_tasks
from tests.engine.support import definition, fixture, linear

# -- the translation table ----------------------------------------------------------------------

DATA: dict[str, Any] = {
    "amount": 5000, "small": 200, "approver": "gat_head", "nobody": "", "none": None, "zero": 0, "no": False,
    "items": [], "things": ["a", "b"], "empty_map": {}, "applicant": {"name": "张三", "level": 3, "org": None},
    "decision": "approve", "ratio": 0.5, "n": 7, "yes": True,
}

# JUEL → (the Python we emit, its value against DATA)
TABLE: list[tuple[str, str, Any]] = [
    ("${amount}", "amount", 5000),
    ("#{amount}", "amount", 5000),
    ("  ${ amount }\n", "amount", 5000),
    ("${amount > 1000}", "amount > 1000", True),
    ("${amount gt 1000}", "amount > 1000", True),
    ("${small >= 200}", "small >= 200", True),
    ("${small ge 201}", "small >= 201", False),
    ("${small < 100 || small le 200}", "(small < 100) or (small <= 200)", True),
    ("${small lt 100 or small > 1000}", "(small < 100) or (small > 1000)", False),
    ("${decision == 'approve'}", "decision == 'approve'", True),
    ('${decision eq "approve"}', "decision == 'approve'", True),
    ("${decision != 'approve'}", "decision != 'approve'", False),
    ("${decision ne 'reject'}", "decision != 'reject'", True),
    ("${amount > 1000 && !empty approver}",
     "(amount > 1000) and (not (not approver and approver is not False and approver != 0))", True),
    ("${amount > 1000 and not empty nobody}",
     "(amount > 1000) and (not (not nobody and nobody is not False and nobody != 0))", False),
    ("${!yes}", "not yes", False),
    ("${not no}", "not no", True),
    # empty: null, '' and empty collections; not 0 or false.
    ("${empty none}", "not none and none is not False and none != 0", True),
    ("${empty nobody}", "not nobody and nobody is not False and nobody != 0", True),
    ("${empty items}", "not items and items is not False and items != 0", True),
    ("${empty empty_map}", "not empty_map and empty_map is not False and empty_map != 0", True),
    ("${empty things}", "not things and things is not False and things != 0", False),
    ("${empty zero}", "not zero and zero is not False and zero != 0", False),
    ("${empty no}", "not no and no is not False and no != 0", False),
    ("${empty applicant.org}", "(applicant or {}).get('org') in (None, '', [], {})", True),
    ("${empty applicant.name}", "(applicant or {}).get('name') in (None, '', [], {})", False),
    # Property access on a map (a JSON object); a missing key or a property of null is null.
    ("${applicant.level}", "(applicant or {}).get('level')", 3),
    ("${applicant['name']}", "(applicant or {}).get('name')", "张三"),
    ('${applicant["level"] ge 3}', "(applicant or {}).get('level') >= 3", True),
    ("${applicant.missing}", "(applicant or {}).get('missing')", None),
    ("${applicant.org.code}", "((applicant or {}).get('org') or {}).get('code')", None),
    ("${applicant.missing == null}", "(applicant or {}).get('missing') is None", True),
    ("${null != applicant.name}", "None is not (applicant or {}).get('name')", True),
    ("${things[1]}", "things[1]", "b"),
    ("${things[n - 6]}", "things[(n - 6)]", "b"),
    # Literals.
    ("${true}", "True", True),
    ("${false || null}", "False or None", None),
    ("${'it\\'s'}", '"it\'s"', "it's"),
    ('${"say \\"hi\\" \\\\ bye"}', "'say \"hi\" \\\\ bye'", 'say "hi" \\ bye'),
    ("${'中文'}", "'中文'", "中文"),
    ("${1.5e3 + .5}", "1500.0 + 0.5", 1500.5),
    # Arithmetic: / and div divide exactly (JUEL), % and mod.
    ("${n / 2}", "n / 2", 3.5),
    ("${n div 2}", "n / 2", 3.5),
    ("${n % 4}", "n % 4", 3),
    ("${n mod 4 == 3}", "(n % 4) == 3", True),
    ("${-n + 10 * 2}", "(-n) + (10 * 2)", 13),
    ("${(n - 1) * 2}", "(n - 1) * 2", 12),
    ("${n - -1}", "n - (-1)", 8),
    # Ternary, right-associative.
    ("${amount > 1000 ? 'director' : 'clerk'}", "'director' if (amount > 1000) else 'clerk'", "director"),
    ("${no ? 1 : yes ? 2 : 3}", "1 if no else (2 if yes else 3)", 2),
    # Multi-instance names as Camunda spells them (the engine provides them to the completion condition).
    ("${nrOfCompletedInstances/nrOfInstances >= 0.5}", "(nrOfCompletedInstances / nrOfInstances) >= 0.5", None),
    # The one method call translated.
    ("${execution.getVariable('amount') > 1000}", "amount > 1000", True),
    ('${execution.getVariable("decision")}', "decision", "approve"),
]


@pytest.fixture(scope="module")
def sandbox() -> RestrictedEnvironment:
    return RestrictedEnvironment(timeout_seconds=2.0)


@pytest.mark.parametrize(("source", "python", "value"), TABLE, ids=[row[0] for row in TABLE])
def test_translation_table(sandbox: RestrictedEnvironment, source: str, python: str, value: Any) -> None:
    translation = translate(source)
    assert translation.python == python
    if "nrOf" in python:
        assert _evaluate(sandbox, translation.text, {"nrOfCompletedInstances": 2, "nrOfInstances": 4}) is True
        assert _evaluate(sandbox, translation.text, {"nrOfCompletedInstances": 1, "nrOfInstances": 4}) is False
        return
    assert _evaluate(sandbox, translation.text) == value


def _evaluate(sandbox: RestrictedEnvironment, text: str, external: dict[str, Any] | None = None,
              data: dict[str, Any] | None = None) -> Any:
    """Evaluate as the script engine does: in the sandbox, unset variables of a translation as None."""
    data = dict(DATA if data is None else data)
    return sandbox.evaluate(text, data, unset_as_null(text, data, external))


def test_the_translated_text_names_the_variables_it_reads() -> None:
    translation = translate("${amount > 1000 && !empty approver || execution.getVariable('urgent')}")
    assert translation.names == ("amount", "approver", "urgent")
    assert translation.text.splitlines()[0] == "# JUEL null if unset: amount approver urgent"
    assert translate("${1 + 1}").text == "1 + 1"


@pytest.mark.parametrize(("source", "value"), [
    ("${empty approver}", True),
    ("${!empty approver}", False),
    ("${approver == null}", True),
    ("${execution.getVariable('approver') != null}", False),
    ("${approved == true}", False),
    ("${applicant.level}", None),
    ("${approver}", None),
])
def test_an_unset_variable_reads_as_null(sandbox: RestrictedEnvironment, source: str, value: Any) -> None:
    # A form field left blank stores no value; Camunda would store null.
    assert _evaluate(sandbox, translate(source).text, data={}) == value


def test_a_set_variable_is_never_replaced_and_python_expressions_are_left_alone(
        sandbox: RestrictedEnvironment) -> None:
    text = translate("${approver}").text
    assert unset_as_null(text, {"approver": "gat_head"}, None) is None
    assert unset_as_null(text, {}, {"approver": "from_context"}) == {"approver": "from_context"}
    # Hand-written Python keeps its NameError for an unset variable.
    assert unset_as_null("approver", {}, None) is None
    with pytest.raises(ScriptError) as caught:
        sandbox.evaluate("approver", {})
    assert "approver" in caught.value.detail_zh


def test_null_compared_with_a_number_is_an_error_not_false(sandbox: RestrictedEnvironment) -> None:
    with pytest.raises(ScriptError) as caught:
        _evaluate(sandbox, translate("${amount > 1000}").text, data={})
    assert "NoneType" in caught.value.detail_zh


REFUSED: list[tuple[str, str]] = [
    ("${a}${b}", "只支持整段写成一个 ${…}"),
    ("金额：${amount}", "前面还有其他文字"),
    ("${amount} 元", "后面还有其他内容"),
    ("${items.size() > 0}", "不支持方法或函数调用（size(…)）"),
    ("${approver.isEmpty()}", "不支持方法或函数调用"),
    ("${fn:contains(items, 'x')}", "不支持函数调用"),
    ("${len(items)}", "不支持方法或函数调用（len(…)）"),
    ("${items.stream().map(x -> x)}", "lambda"),
    ("${x -> x + 1}", "lambda"),
    ("${amount = 5}", "赋值"),
    ("${a; b}", "分号"),
    ("${a += 'b'}", "字符串拼接"),
    ("${{1, 2}}", "集合或映射字面量"),
    ("${[1, 2]}", "无法识别"),
    ("${a instanceof b}", "instanceof"),
    ("${execution.processBusinessKey}", "execution 对象"),
    ("${execution.getVariableLocal('x')}", "execution 对象"),
    ("${execution.getVariable(name)}", "execution 对象"),
    ("${__class__}", "下划线开头"),
    ("${class == 1}", "Python 关键字"),
    ("${True}", "Python 关键字"),
    ("${$amount}", "含 $"),
    ("${'a\\nb'}", "转义"),
    ("${'open}", "缺少结尾的引号"),
    ("${amount", "缺少结尾的“}”"),
    ("${(amount > 1}", "此处应为“)”"),
    ("${amount >}", "表达式不完整"),
    ("${}", "表达式不完整"),
    ("${1e999}", "超出范围"),
    ("${99999999999999999999}", "超出范围"),
    ("${a & b}", "按位运算"),
    ("${'" + "x" * 3000 + "'}", "表达式过长"),
    ("${" + "(" * 60 + "1" + ")" * 60 + "}", "嵌套过深"),
    ("${" + "!" * 60 + "a}", "嵌套过深"),
    ("${" + ".".join(["a"] * 600) + "}", "嵌套过深"),
    ("${" + "+".join(["a"] * 600) + "}", "嵌套过深"),
    ("${a" + "[0]" * 300 + "}", "嵌套过深"),
]


@pytest.mark.parametrize(("source", "reason"), REFUSED, ids=[row[0][:40] for row in REFUSED])
def test_outside_the_subset_is_refused_with_a_reason(source: str, reason: str) -> None:
    with pytest.raises(JuelRefused) as caught:
        translate(source)
    assert reason in caught.value.reason


def test_translated_text_holds_only_what_the_parser_built() -> None:
    # A string literal cannot break out: it is rendered with repr, whatever it holds.
    python = translate("${x == '\\') or __import__(\\'os\\') or (\\''}").python
    assert python == "x == \"') or __import__('os') or ('\""
    compile(python, "<test>", "eval")


# -- at deploy: refusals name the element and quote the expression ----------------------------


def _flow(condition: str, flow_id: str = "juel_flow") -> bytes:
    return linear('<bpmn:exclusiveGateway id="gw" default="flow_2" />',
                  '<bpmn:userTask id="work" camunda:candidateGroups="clerk" />',
                  extra=f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="gw" targetRef="end">'
                        f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}'
                        '</bpmn:conditionExpression></bpmn:sequenceFlow>')


def _problems(xml: bytes) -> list[dict[str, Any]]:
    with pytest.raises(BpmnRejected) as caught:
        describe(xml)
    return caught.value.extra["problems"]


def test_a_refused_condition_names_the_flow_and_quotes_the_expression_once() -> None:
    problems = _problems(_flow("${order.lines.size() &gt; 0}"))

    assert len(problems) == 1  # not again as "does not compile" by the Python check
    [problem] = problems
    assert problem["element_id"] == "juel_flow" and problem["code"] == "expression"
    assert "juel_flow" in problem["message"]
    assert "${order.lines.size() > 0}" in problem["message"]
    assert "不支持方法或函数调用" in problem["message"]


def test_a_long_refused_expression_is_quoted_cut_short() -> None:
    long = "${" + " + ".join(f"part{i}" for i in range(100)) + " + f(x)}"
    [problem] = _problems(_flow(long))
    assert "${part0 + part1" in problem["message"] and "…" in problem["message"]
    assert len(problem["message"]) < 300


@pytest.mark.parametrize(("element", "element_id", "words"), [
    # A plain variable (`${approver}`) designates the task (tests/engine/test_assignee_variable.py).
    ('<bpmn:userTask id="mine" camunda:candidateGroups="clerk" camunda:assignee="${form.approver}" />', "mine",
     "办理人（camunda:assignee）不能由表达式取自流程变量"),
    ('<bpmn:userTask id="mine" camunda:assignee="${approver}" />', "mine",
     "办理人（camunda:assignee）不能由表达式取自流程变量"),
    ('<bpmn:userTask id="mine" camunda:candidateGroups="clerk" camunda:candidateUsers="${reviewers}" />', "mine",
     "候选人（camunda:candidateUsers）"),
    ('<bpmn:userTask id="mine" camunda:candidateGroups="${group}" />', "mine", "候选角色（camunda:candidateGroups）"),
    ('<bpmn:userTask id="mine" camunda:candidateGroups="clerk" camunda:dueDate="${due}" />', "mine",
     "属性 camunda:dueDate 不按表达式求值"),
    ('<bpmn:callActivity id="mine" calledElement="${which}" />', "mine", "属性 calledElement 不按表达式求值"),
    ('<bpmn:userTask id="mine" camunda:candidateGroups="clerk"><bpmn:extensionElements><camunda:properties>'
     '<camunda:property name="department" value="${dept}" /></camunda:properties></bpmn:extensionElements>'
     '</bpmn:userTask>', "mine", "属性 value 不按表达式求值"),
    ('<bpmn:intermediateCatchEvent id="mine"><bpmn:timerEventDefinition><bpmn:timeDuration>PT${n}H'
     '</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>', "mine", "前面还有其他文字"),
    ('<bpmn:userTask id="mine" camunda:candidateGroups="clerk"><bpmn:multiInstanceLoopCharacteristics '
     'camunda:collection="${order.signers}" camunda:elementVariable="signer" /></bpmn:userTask>', "mine",
     "${order.signers}"),
])
def test_juel_where_it_cannot_be_translated_is_refused_naming_the_element(element: str, element_id: str,
                                                                       words: str) -> None:
    problems = _problems(linear(element))
    assert any(p["element_id"] == element_id and words in p["message"] for p in problems), problems


def test_juel_in_labels_documentation_and_python_scripts_is_only_text() -> None:
    xml = linear('<bpmn:userTask id="work" name="超过 ${limit} 元" camunda:candidateGroups="clerk">'
                 '<bpmn:documentation>见 ${rule}</bpmn:documentation></bpmn:userTask>',
                 '<bpmn:scriptTask id="note"><bpmn:script>memo = "${amount}"</bpmn:script></bpmn:scriptTask>')
    xml = xml.replace(b"</bpmn:process>", b'<bpmn:textAnnotation id="ann"><bpmn:text>${x}</bpmn:text>'
                                          b"</bpmn:textAnnotation></bpmn:process>")
    describe(xml)


def test_a_juel_condition_in_another_language_is_refused_by_language() -> None:
    xml = _flow("${a}").replace(b'xsi:type="bpmn:tFormalExpression"', b'language="groovy"')
    problems = _problems(xml)
    assert any(p["element_id"] == "juel_flow" and "groovy" in p["message"] for p in problems)


# -- the stored file and the designer ------------------------------------------------------------


def test_the_stored_file_keeps_the_designers_juel(rt: Runtime) -> None:
    original = fixture("juel_purchase").xml
    with rt.db.session() as s:
        definition, created = rt.runner.deploy(s, original, filename="juel_purchase.bpmn", actor="designer")
        s.commit()
        assert created
        row = s.execute(select(ProcessDefinition)
                        .where(ProcessDefinition.process_key == "juel_purchase")).scalar_one()
        assert row.content_hash == hashlib.sha256(original).hexdigest()
        assert b"${amount &gt; 1000 &amp;&amp; !empty approver}" in rt.runner._xml_loader(s, row.id)()


def test_the_designer_reports_no_problem_for_translated_juel(client: Any, as_user: Any) -> None:
    for name in ("juel_purchase", "juel_countersign"):
        r = as_user("designer").post("/api/designer/validate", json={"xml": fixture(name).xml.decode()})
        assert r.status_code == 200, r.text
        assert r.json()["problems"] == [], r.json()["problems"]
    # What is not translated is still listed, naming the element.
    r = as_user("designer").post("/api/designer/validate", json={"xml": _flow("${a.b()}").decode()})
    assert [(p["element_id"], p["code"]) for p in r.json()["problems"]] == [("juel_flow", "expression")]


# -- the bare engine, a fresh engine restoring the saved state before every step ----------------


class Run:
    """One instance: dump after every step and restore on a new Engine (the spec compiled afresh)."""

    def __init__(self, name: str, variables: dict[str, Any]) -> None:
        self.proc = fixture(name)
        self.state = Engine(script_timeout=2.0).dump(
            Engine(script_timeout=2.0).start(self.proc.content_hash, self.proc.xml, variables))

    def _engine(self) -> tuple[Engine, Any]:
        engine = Engine(script_timeout=2.0)
        return engine, engine.restore(self.state, self.proc.content_hash, self.proc.xml)

    def ready(self) -> list[str]:
        engine, wf = self._engine()
        return sorted(t.task_spec for t in engine.ready_user_tasks(wf))

    def complete(self, element: str, data: dict[str, Any]) -> None:
        engine, wf = self._engine()
        [task] = [t for t in engine.ready_user_tasks(wf) if t.task_spec == element]
        engine.complete_user_task(wf, task.id, data)
        self.state = engine.dump(wf)

    def fire(self, now: Any) -> None:
        engine, wf = self._engine()
        engine.fire_timers(wf, now)
        self.state = engine.dump(wf)

    def finished_at(self) -> str | None:
        engine, wf = self._engine()
        return engine.end_event(wf) if engine.is_completed(wf) else None

    def next_timer_at(self) -> Any:
        engine, wf = self._engine()
        return engine.next_timer_at(wf)


@pytest.mark.parametrize(("amount", "approver", "level", "urgent", "decision", "path"), [
    (5000, "gat_head", 3, False, "approve", ["director", "timer", "end_done"]),
    (5000, "gat_head", 2, True, "approve", ["director", "timer", "end_done"]),
    (5000, "gat_head", 2, False, "approve", ["director", "end_rejected"]),
    (5000, "gat_head", 5, True, "reject", ["director", "end_rejected"]),
    (5000, "", 5, False, None, ["end_missing"]),
    (800, "", 1, False, None, ["check", "end_done"]),
], ids=["approved_by_level", "approved_as_urgent", "approved_but_level_too_low", "rejected", "no_approver",
        "small_amount"])
def test_camunda_style_gateways_choose_as_written(frozen_clock, amount: int, approver: str, level: int,
                                                  urgent: bool, decision: str | None, path: list[str]) -> None:
    run = Run("juel_purchase", {"applicant": {"name": "张三", "level": level}, "cooling": "PT2H"})
    assert run.ready() == ["apply"]
    run.complete("apply", {"amount": amount, "approver": approver, "urgent": urgent})
    for step in path:
        if step.startswith("end_"):
            assert run.ready() == []
            assert run.finished_at() == step
        elif step == "timer":
            # ${cooling}: the variable holds the ISO duration.
            assert run.ready() == []
            due = run.next_timer_at()
            assert due == frozen_clock + timedelta(hours=2)
            run.fire(due - timedelta(seconds=1))
            assert run.finished_at() is None
            run.fire(due)
        else:
            assert run.ready() == [step]
            run.complete(step, {"decision": decision} if step == "director" else {})


def test_a_blank_optional_field_is_null_for_the_juel_conditions() -> None:
    run = Run("juel_purchase", {"cooling": "PT2H"})
    # The form stores nothing for a blank field: approver and urgent are unset.
    run.complete("apply", {"amount": 5000})
    assert run.ready() == [] and run.finished_at() == "end_missing"


def test_a_condition_failing_at_run_time_is_a_script_error_naming_the_gateway() -> None:
    run = Run("juel_purchase", {"cooling": "PT2H"})  # no applicant: its level is null
    run.complete("apply", {"amount": 5000, "approver": "gat_head"})
    with pytest.raises(ScriptError) as caught:
        run.complete("director", {"decision": "approve"})
    assert caught.value.element_id == "gw_decision"
    assert "NoneType" in caught.value.message_zh


def test_multi_instance_loop_cardinality_and_completion_in_juel() -> None:
    task = ('<bpmn:userTask id="sign" camunda:candidateGroups="reviewer"><bpmn:extensionElements><camunda:formData>'
            '<camunda:formField id="approved" type="boolean" /></camunda:formData></bpmn:extensionElements>'
            '<bpmn:multiInstanceLoopCharacteristics isSequential="true">'
            '<bpmn:loopCardinality>${rounds + 1}</bpmn:loopCardinality>'
            '<bpmn:completionCondition>${approved == false || nrOfCompletedInstances ge 3}</bpmn:completionCondition>'
            '</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>')
    xml = linear(task, process_id="juel_rounds")
    compile_definition(xml)
    engine = Engine(script_timeout=2.0)
    proc = definition(xml)
    wf = engine.start(proc.content_hash, proc.xml, {"rounds": 4})
    for _ in range(3):
        wf = engine.restore(engine.dump(wf), proc.content_hash, proc.xml)
        [task_] = engine.ready_user_tasks(wf)
        engine.complete_user_task(wf, task_.id, {"approved": True})
    # Three of five, then the completion condition holds.
    assert engine.is_completed(wf)
    assert len(engine.data(wf)["sign_results"]) == 3


# -- through the runner (the instance saved to and restored from the database around each step) --


def _deploy(rt: Runtime, name: str) -> None:
    with rt.db.session() as s:
        rt.runner.deploy(s, fixture(name).xml, filename=f"{name}.bpmn", actor="designer")
        s.commit()


def _complete(rt: Runtime, instance_id: int, element: str, username: str, data: dict[str, Any]) -> None:
    [task] = [t for t in open_tasks(rt, instance_id) if t.task_spec == element and
              (t.assignee_id is None or t.assignee_id == actor(rt, username).id)]
    with rt.db.session() as s:
        rt.runner.complete_task(s, task.id, data, actor(rt, username))  # type: ignore[arg-type]
        s.commit()


def _instance(rt: Runtime, instance_id: int) -> tuple[ProcessInstance, str | None]:
    with rt.db.session() as s:
        instance = s.get(ProcessInstance, instance_id)
        assert instance is not None
        workflow = rt.runner.restore_workflow(s, instance)
        s.expunge(instance)
        return instance, rt.engine.end_event(workflow) if instance.status == "completed" else None


def test_runner_purchase_over_the_limit_goes_to_the_director_then_waits_the_juel_timer(
        rt: Runtime) -> None:
    _deploy(rt, "juel_purchase")
    clerk = actor(rt, "gat_clerk")
    with rt.db.session() as s:
        started = rt.runner.start(s, "juel_purchase", actor=clerk, subject="采购服务器",
                                  variables={"applicant": {"name": "张三", "level": 4}, "cooling": "P1D"})
        s.commit()
        instance_id = started.id
    _complete(rt, instance_id, "apply", "gat_clerk", {"amount": 12000, "approver": "gat_head", "urgent": False})
    assert [t.task_spec for t in open_tasks(rt, instance_id)] == ["director"]
    _complete(rt, instance_id, "director", "gat_head", {"decision": "approve"})
    assert open_tasks(rt, instance_id) == []
    instance, _ = _instance(rt, instance_id)
    assert instance.status == "running"
    assert instance.next_timer_at == clock.now() + timedelta(days=1)

    clock.freeze(clock.now() + timedelta(days=1))
    with rt.db.session() as s:
        assert rt.runner.fire_timers(s, instance_id) is True
        s.commit()
    instance, end = _instance(rt, instance_id)
    assert (instance.status, end) == ("completed", "end_done")


@pytest.mark.parametrize(("amount", "approver", "expected"), [
    (12000, "", ("completed", "end_missing", [])),
    (300, "gat_head", ("running", None, ["check"])),
])
def test_runner_purchase_other_branches(rt: Runtime, amount: int, approver: str,
                                        expected: tuple[Any, ...]) -> None:
    _deploy(rt, "juel_purchase")
    with rt.db.session() as s:
        instance_id = rt.runner.start(s, "juel_purchase", actor=actor(rt, "gat_clerk"), subject="采购",
                                      variables={"applicant": {"level": 1}, "cooling": "P1D"}).id
        s.commit()
    _complete(rt, instance_id, "apply", "gat_clerk", {"amount": amount, "approver": approver, "urgent": False})
    instance, end = _instance(rt, instance_id)
    assert (instance.status, end, [t.task_spec for t in open_tasks(rt, instance_id)]) == expected


def test_runner_countersign_with_juel_collection_assignee_and_half_completion(
        rt: Runtime) -> None:
    _deploy(rt, "juel_countersign")
    signers = ["gat_reviewer", "scjg_reviewer", "gat_head", "gat_clerk"]
    with rt.db.session() as s:
        instance_id = rt.runner.start(s, "juel_countersign", actor="system", subject="联合审查",
                                      variables={"signers": signers, "nrOfSigners": len(signers)}).id
        s.commit()
    users = {name: actor(rt, name).id for name in signers}
    tasks = open_tasks(rt, instance_id)
    # ${signer} as assignee: each instance is its signer's own task.
    assert sorted(t.assignee_id for t in tasks) == sorted(users.values())

    _complete(rt, instance_id, "sign", "scjg_reviewer", {"approved": True, "opinion": "同意"})
    assert len(open_tasks(rt, instance_id)) == 3
    _complete(rt, instance_id, "sign", "gat_head", {"approved": True, "opinion": "同意"})
    # ${nrOfCompletedInstances/nrOfInstances >= 0.5}: two of four, the other two are withdrawn.
    assert open_tasks(rt, instance_id) == []
    instance, end = _instance(rt, instance_id)
    assert (instance.status, end) == ("completed", "end_passed")
    with rt.db.session() as s:
        variables = rt.runner.variables(s, s.get(ProcessInstance, instance_id))
    assert sorted(r["signer"] for r in variables["sign_results"]) == ["gat_head", "scjg_reviewer"]
    assert variables["approvals"] == 2


def test_runner_refuses_a_file_with_untranslatable_juel_naming_the_element(
        rt: Runtime) -> None:
    xml = fixture("juel_purchase").xml.replace(b"!empty approver}", b"!approver.isEmpty()}")
    with rt.db.session() as s, pytest.raises(BpmnRejected) as caught:
        rt.runner.deploy(s, xml, filename="juel_purchase.bpmn", actor="designer")
    [problem] = caught.value.extra["problems"]
    assert problem["element_id"] == "to_director" and problem["code"] == "expression"
    assert "approver.isEmpty()" in problem["message"]
