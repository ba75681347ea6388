"""Multi-instance user tasks: 会签 (all sign), 或签 (the first decides), N of M, across save/restore."""

from __future__ import annotations

import json
from typing import Any

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow

from app.engine.bpmn import describe
from app.engine.core import Engine
from app.engine.errors import BpmnRejected, ScriptError
from tests.engine.support import Definition, definition, linear

SIGNERS = ["li_si", "wang_wu", "zhao_liu"]


def countersign(loop: str, *, attrs: str = 'camunda:assignee="signer"', extra: str = "") -> Definition:
    """A process: one multi-instance user task with a form (approved, opinion), then a script that
    reads every opinion, then the end."""
    task = f"""<bpmn:userTask id="sign" name="会签" camunda:candidateGroups="reviewer" {attrs}>
      <bpmn:extensionElements>
        <camunda:formData>
          <camunda:formField id="approved" label="同意" type="boolean" />
          <camunda:formField id="opinion" label="意见" type="string" />
        </camunda:formData>
        {extra}
      </bpmn:extensionElements>
      {loop}
    </bpmn:userTask>"""
    script = """<bpmn:scriptTask id="tally" scriptFormat="python"><bpmn:script>signed = [r["signer"] for r in sign_results]
all_approved = all(r["approved"] for r in sign_results)</bpmn:script></bpmn:scriptTask>"""
    return definition(linear(task, script, process_id="countersign"))


PARALLEL = """<bpmn:multiInstanceLoopCharacteristics camunda:collection="signers" camunda:elementVariable="signer" />"""
FIRST_DECIDES = """<bpmn:multiInstanceLoopCharacteristics camunda:collection="signers" camunda:elementVariable="signer">
        <bpmn:completionCondition>nrOfCompletedInstances &gt;= 1</bpmn:completionCondition>
      </bpmn:multiInstanceLoopCharacteristics>"""
TWO_OF_THREE_SEQUENTIAL = """<bpmn:multiInstanceLoopCharacteristics isSequential="true" camunda:collection="signers" camunda:elementVariable="signer">
        <bpmn:completionCondition>len([r for r in sign_results if r["approved"]]) &gt;= 2</bpmn:completionCondition>
      </bpmn:multiInstanceLoopCharacteristics>"""


class Run:
    """Drive one instance, saving and restoring between every step when asked."""

    def __init__(self, engine: Engine, process: Definition, *, restore_each_step: bool) -> None:
        self.engine, self.process, self.restore_each_step = engine, process, restore_each_step
        self.workflow: BpmnWorkflow | None = None
        self.sizes: list[int] = []

    def start(self, variables: dict[str, Any]) -> None:
        self.workflow = self.engine.start(self.process.content_hash, self.process.xml, variables)
        self._checkpoint()

    def ready(self) -> dict[str, dict[str, Any]]:
        """Return the ready instances by the signer each one is for."""
        assert self.workflow is not None
        return {t.data["signer"]: {"id": t.id, "task_spec": t.task_spec, "data": t.data}
                for t in self.engine.ready_user_tasks(self.workflow)}

    def sign(self, signer: str, approved: bool, opinion: str) -> None:
        assert self.workflow is not None
        task = self.ready()[signer]
        self.engine.complete_user_task(self.workflow, task["id"], {"approved": approved, "opinion": opinion})
        self._checkpoint()

    def data(self) -> dict[str, Any]:
        assert self.workflow is not None
        return self.engine.data(self.workflow)

    def _checkpoint(self) -> None:
        assert self.workflow is not None
        state = self.engine.dump(self.workflow)
        self.sizes.append(len(state))
        if self.restore_each_step:
            self.workflow = self.engine.restore(state, self.process.content_hash, self.process.xml)


MODES = pytest.mark.parametrize("restore_each_step", [False, True], ids=["in_memory", "restore_each_step"])


@MODES
def test_parallel_countersign_needs_every_signer_and_keeps_each_opinion(engine: Engine,
                                                                     restore_each_step: bool) -> None:
    run = Run(engine, countersign(PARALLEL), restore_each_step=restore_each_step)
    run.start({"signers": SIGNERS})

    ready = run.ready()
    assert sorted(ready) == sorted(SIGNERS)
    assert {t["task_spec"] for t in ready.values()} == {"sign"}

    run.sign("wang_wu", True, "同意")
    run.sign("li_si", False, "材料不全")
    assert sorted(run.ready()) == ["zhao_liu"]
    assert not engine.is_completed(run.workflow)  # type: ignore[arg-type]
    run.sign("zhao_liu", True, "无意见")

    assert engine.is_completed(run.workflow)  # type: ignore[arg-type]
    data = run.data()
    by_signer = {r["signer"]: r for r in data["sign_results"]}
    assert by_signer["li_si"] == {"index": 0, "signer": "li_si", "approved": False, "opinion": "材料不全"}
    assert by_signer["wang_wu"]["opinion"] == "同意"
    assert by_signer["zhao_liu"]["opinion"] == "无意见"
    # The script after the 会签 read every opinion; no instance's variables leaked into the process.
    assert sorted(data["signed"]) == sorted(SIGNERS)
    assert data["all_approved"] is False
    assert "signer" not in data and "opinion" not in data


@MODES
def test_parallel_first_signer_decides_and_the_others_are_withdrawn(engine: Engine,
                                                                   restore_each_step: bool) -> None:
    run = Run(engine, countersign(FIRST_DECIDES), restore_each_step=restore_each_step)
    run.start({"signers": SIGNERS})
    assert len(run.ready()) == 3

    run.sign("zhao_liu", True, "同意，我来定")

    assert run.ready() == {}
    assert engine.is_completed(run.workflow)  # type: ignore[arg-type]
    data = run.data()
    assert data["sign_results"] == [{"index": 2, "signer": "zhao_liu", "approved": True, "opinion": "同意，我来定"}]
    assert data["signed"] == ["zhao_liu"]


@MODES
def test_sequential_two_of_three_stops_once_two_approve(engine: Engine, restore_each_step: bool) -> None:
    run = Run(engine, countersign(TWO_OF_THREE_SEQUENTIAL), restore_each_step=restore_each_step)
    run.start({"signers": SIGNERS})

    assert list(run.ready()) == ["li_si"]  # in collection order, one at a time
    run.sign("li_si", True, "同意")
    assert list(run.ready()) == ["wang_wu"]
    run.sign("wang_wu", False, "不同意")
    assert list(run.ready()) == ["zhao_liu"]
    run.sign("zhao_liu", True, "同意")

    assert engine.is_completed(run.workflow)  # type: ignore[arg-type]
    data = run.data()
    assert [(r["signer"], r["approved"]) for r in data["sign_results"]] == \
        [("li_si", True), ("wang_wu", False), ("zhao_liu", True)]


@MODES
def test_sequential_two_of_three_skips_the_third_when_the_first_two_approve(engine: Engine,
                                                                           restore_each_step: bool) -> None:
    run = Run(engine, countersign(TWO_OF_THREE_SEQUENTIAL), restore_each_step=restore_each_step)
    run.start({"signers": SIGNERS})
    run.sign("li_si", True, "同意")
    run.sign("wang_wu", True, "同意")

    assert run.ready() == {}
    assert engine.is_completed(run.workflow)  # type: ignore[arg-type]
    assert run.data()["signed"] == ["li_si", "wang_wu"]


@MODES
def test_loop_cardinality_opens_that_many_instances(engine: Engine, restore_each_step: bool) -> None:
    loop = """<bpmn:multiInstanceLoopCharacteristics camunda:elementVariable="signer">
        <bpmn:loopCardinality>copies + 1</bpmn:loopCardinality>
      </bpmn:multiInstanceLoopCharacteristics>"""
    run = Run(engine, countersign(loop, attrs=""), restore_each_step=restore_each_step)
    run.start({"copies": 1})
    assert sorted(run.ready()) == [0, 1]  # type: ignore[comparison-overlap]
    for index in (1, 0):
        task = run.ready()[index]  # type: ignore[index]
        engine.complete_user_task(run.workflow, task["id"], {"approved": True, "opinion": f"第{index}份"})  # type: ignore[arg-type]
        run._checkpoint()
    assert engine.is_completed(run.workflow)  # type: ignore[arg-type]
    assert [r["opinion"] for r in run.data()["sign_results"]] == ["第1份", "第0份"]


def test_state_stays_flat_over_twenty_signers(engine: Engine) -> None:
    signers = [f"signer_{i:02d}" for i in range(20)]
    run = Run(engine, countersign(PARALLEL), restore_each_step=True)
    run.start({"signers": signers})
    for signer in signers[:-1]:
        run.sign(signer, True, "同意")
    # Finished instances are pruned: the state shrinks as people sign, never grows.
    assert run.sizes[-1] < run.sizes[0]
    state = json.loads(engine.dump(run.workflow))  # type: ignore[arg-type]
    assert len(state["tasks"]) < 12


def test_the_collection_must_be_a_list(engine: Engine) -> None:
    process = countersign(PARALLEL)
    with pytest.raises(ScriptError, match="必须是列表"):
        engine.start(process.content_hash, process.xml, {"signers": "li_si"})
    with pytest.raises(ScriptError, match="缺少流程变量"):
        engine.start(process.content_hash, process.xml, {})


def test_one_bad_start_does_not_break_the_next_instance(engine: Engine) -> None:
    # SpiffWorkflow's own Camunda multi-instance task rewrote the cached spec on its first run.
    process = countersign(PARALLEL)
    with pytest.raises(ScriptError):
        engine.start(process.content_hash, process.xml, {"signers": 3})
    workflow = engine.start(process.content_hash, process.xml, {"signers": ["li_si"]})
    assert [t.data["signer"] for t in engine.ready_user_tasks(workflow)] == ["li_si"]


def test_metadata_names_the_loop_for_the_runner() -> None:
    meta = describe(countersign(PARALLEL).xml).user_tasks["sign"]
    assert meta.multi_instance == {
        "sequential": False, "collection": "signers", "element_variable": "signer", "cardinality": None,
        "condition": None, "results": "sign_results", "assignee_variable": "signer",
        "output": None, "output_item": None}
    custom = describe(countersign(PARALLEL, extra="""<camunda:properties>
          <camunda:property name="results" value="opinions" /></camunda:properties>""").xml)
    assert custom.user_tasks["sign"].multi_instance["results"] == "opinions"  # type: ignore[index]


@pytest.mark.parametrize(("loop", "attrs", "expected"), [
    ("""<bpmn:multiInstanceLoopCharacteristics camunda:collection="signers" />""", "", "元素变量"),
    ("""<bpmn:multiInstanceLoopCharacteristics camunda:collection="a.b" camunda:elementVariable="s" />""",
     "", "变量名"),
    ("""<bpmn:multiInstanceLoopCharacteristics camunda:elementVariable="s" />""", "", "之一"),
    (PARALLEL, 'camunda:assignee="zhang_san"', "元素变量名"),
    ("""<bpmn:multiInstanceLoopCharacteristics camunda:collection="signers" camunda:elementVariable="signer">
        <bpmn:loopDataInputRef>x</bpmn:loopDataInputRef></bpmn:multiInstanceLoopCharacteristics>""", "", "写了两次"),
    ("""<bpmn:multiInstanceLoopCharacteristics camunda:elementVariable="s">
        <bpmn:loopCardinality>__import__('os')</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>""",
     "", "loopCardinality"),
])
def test_lint_refuses_what_the_engine_cannot_run(loop: str, attrs: str, expected: str) -> None:
    with pytest.raises(BpmnRejected) as refused:
        describe(countersign(loop, attrs=attrs).xml)
    assert any(code == "multi_instance" and expected in message for _, message, code in refused.value.problems), \
        refused.value.problems


def test_lint_refuses_multi_instance_on_elements_that_wait_or_call_out() -> None:
    # Subprocesses, call activities, script and plain tasks loop too (test_multi_instance_elements.py).
    xml = linear("""<bpmn:receiveTask id="r" messageRef="m">
      <bpmn:multiInstanceLoopCharacteristics camunda:collection="items" camunda:elementVariable="item" />
      </bpmn:receiveTask>""", extra='</bpmn:process><bpmn:message id="m" name="答复" />'
                                   '<bpmn:process id="unused" isExecutable="false">')
    with pytest.raises(BpmnRejected) as refused:
        describe(xml)
    assert [(element, code) for element, _, code in refused.value.problems] == [("r", "multi_instance")]


def test_a_bad_collection_reached_after_a_step_is_a_script_error_and_changes_nothing(engine: Engine) -> None:
    task = """<bpmn:userTask id="prepare" camunda:candidateGroups="clerk">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="signers" label="会签人" type="string" />
      </camunda:formData></bpmn:extensionElements></bpmn:userTask>"""
    sign = """<bpmn:userTask id="sign" camunda:candidateGroups="reviewer">""" + PARALLEL + "</bpmn:userTask>"
    process = definition(linear(task, sign, process_id="prepare_then_sign"))
    workflow = engine.start(process.content_hash, process.xml, {})
    state = engine.dump(workflow)
    [prepare] = engine.ready_user_tasks(workflow)
    with pytest.raises(ScriptError, match="必须是列表"):
        engine.complete_user_task(workflow, prepare.id, {"signers": "li_si,wang_wu"})
    # The host discards the failed step: the saved state still waits at the first task.
    again = engine.restore(state, process.content_hash, process.xml)
    assert [t.task_spec for t in engine.ready_user_tasks(again)] == ["prepare"]
    engine.complete_user_task(again, prepare.id, {"signers": ["li_si", "wang_wu"]})
    assert sorted(t.data["signer"] for t in engine.ready_user_tasks(again)) == ["li_si", "wang_wu"]


@pytest.mark.parametrize("restore_each_step", [False, True], ids=["in_memory", "restore_each_step"])
def test_an_instance_in_the_middle_of_a_countersign_moves_to_a_new_version(engine: Engine,
                                                                         restore_each_step: bool) -> None:
    old = countersign(PARALLEL)
    new = definition(old.xml.replace(b'name="\xe4\xbc\x9a\xe7\xad\xbe"', b'name="\xe4\xbc\x9a\xe7\xad\xbe"')
                     + b"<!-- v2 -->")
    run = Run(engine, old, restore_each_step=restore_each_step)
    run.start({"signers": SIGNERS})
    run.sign("li_si", True, "同意")
    before = {name: task["id"] for name, task in run.ready().items()}

    plan = engine.plan_migration(run.workflow, new.content_hash, new.xml)  # type: ignore[arg-type]
    assert plan.problems == []
    engine.migrate(run.workflow, plan)  # type: ignore[arg-type]
    moved = engine.restore(engine.dump(run.workflow), new.content_hash, new.xml)  # type: ignore[arg-type]

    ready = {t.data["signer"]: t for t in engine.ready_user_tasks(moved)}
    assert {name: t.id for name, t in ready.items()} == before  # the open instances keep their ids
    for name in ("wang_wu", "zhao_liu"):
        engine.complete_user_task(moved, ready[name].id, {"approved": True, "opinion": "同意"})
    assert engine.is_completed(moved)
    assert sorted(r["signer"] for r in engine.data(moved)["sign_results"]) == sorted(SIGNERS)
