"""The engine facade on a real process: user task, gateway, loop-subprocess review rounds, lean state."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow

from app.core.clock import SHANGHAI
from app.core.errors import InvalidInput
from app.engine.core import Engine
from app.engine.errors import ProcessStepFailed, ScriptError, TaskNotReady
from tests.engine.support import Definition, definition, fixture, linear


class Runner:
    """Drive one instance like the host does, optionally saving and restoring between every step."""

    def __init__(self, engine: Engine, process: Definition, *, restore_each_step: bool) -> None:
        self.engine = engine
        self.process = process
        self.restore_each_step = restore_each_step
        self.workflow: BpmnWorkflow | None = None
        self.last_state = ""

    def start(self, variables: dict[str, Any]) -> None:
        """Start the instance."""
        self.workflow = self.engine.start(self.process.content_hash, self.process.xml, variables)
        self._checkpoint()

    def ready(self) -> list[str]:
        """Return the BPMN ids of the ready user tasks."""
        return [task.task_spec for task in self.engine.ready_user_tasks(self.wf)]

    def complete(self, task_spec: str, data: dict[str, Any]) -> None:
        """Complete the one ready user task with this BPMN id."""
        [task] = [t for t in self.engine.ready_user_tasks(self.wf) if t.task_spec == task_spec]
        self.engine.complete_user_task(self.wf, task.id, data)
        self._checkpoint()

    @property
    def wf(self) -> BpmnWorkflow:
        assert self.workflow is not None
        return self.workflow

    def _checkpoint(self) -> None:
        if self.restore_each_step:
            self.last_state = self.engine.dump(self.wf)
            self.workflow = self.engine.restore(self.last_state, self.process.content_hash, self.process.xml)


@pytest.mark.parametrize("restore_each_step", [False, True], ids=["in_memory", "restore_each_step"])
def test_review_rounds_until_approved(engine: Engine, restore_each_step: bool) -> None:
    run = Runner(engine, fixture("review"), restore_each_step=restore_each_step)

    run.start({"applicant": "市大数据局"})
    assert run.ready() == ["submit"]
    assert engine.data(run.wf)["status"] == "submitted"

    run.complete("submit", {"title": "人口库共享", "needs_review": True})
    for round_number in (1, 2, 3):
        assert run.ready() == ["review"]
        assert engine.data(run.wf)["review_rounds"] == round_number - 1
        run.complete("review", {"approved": round_number == 3})

    assert run.ready() == []
    assert engine.is_completed(run.wf)
    data = engine.data(run.wf)
    assert data["status"] == "approved"
    assert data["review_rounds"] == 3
    assert data["applicant"] == "市大数据局"


@pytest.mark.parametrize("restore_each_step", [False, True], ids=["in_memory", "restore_each_step"])
def test_gateway_skips_review_when_not_needed(engine: Engine, restore_each_step: bool) -> None:
    run = Runner(engine, fixture("review"), restore_each_step=restore_each_step)

    run.start({})
    run.complete("submit", {"title": "目录变更", "needs_review": False})

    assert engine.is_completed(run.wf)
    assert engine.data(run.wf)["status"] == "auto_approved"
    assert "review_rounds" in engine.data(run.wf)


def test_ready_task_carries_its_data_as_a_copy(engine: Engine) -> None:
    process = fixture("review")
    workflow = engine.start(process.content_hash, process.xml, {"tags": ["a"]})

    [task] = engine.ready_user_tasks(workflow)
    task.data["tags"].append("changed")

    assert task.name == "提交申请"
    assert engine.ready_user_tasks(workflow)[0].data["tags"] == ["a"]


def _started_at_review(engine: Engine) -> tuple[BpmnWorkflow, str]:
    process = fixture("review")
    workflow = engine.start(process.content_hash, process.xml, {})
    submit_id = engine.ready_user_tasks(workflow)[0].id
    engine.complete_user_task(workflow, submit_id, {"title": "t", "needs_review": True})
    return workflow, submit_id


@pytest.mark.parametrize("which", ["unknown", "garbage", "already_completed", "not_a_user_task"])
def test_completing_a_task_that_is_not_ready_raises_and_changes_nothing(engine: Engine, which: str) -> None:
    workflow, submit_id = _started_at_review(engine)
    task_id = {
        "unknown": "6f1c7a0e-0000-4000-8000-000000000000",
        "garbage": "not-a-uuid",
        "already_completed": submit_id,
        "not_a_user_task": str(workflow.task_tree.id),
    }[which]
    before = engine.dump(workflow)

    with pytest.raises(TaskNotReady) as caught:
        engine.complete_user_task(workflow, task_id, {"approved": True})

    assert caught.value.code == "task_not_ready"
    assert caught.value.status_code == 409
    assert engine.dump(workflow) == before
    assert [t.task_spec for t in engine.ready_user_tasks(workflow)] == ["review"]


@pytest.mark.parametrize("data", [{"typename": "BpmnWorkflow"}, {"nested": {"typename": "x"}},
                                  {"blob": object()}])
def test_invalid_form_data_is_refused_and_changes_nothing(engine: Engine, data: dict[str, Any]) -> None:
    workflow, _ = _started_at_review(engine)
    [review] = engine.ready_user_tasks(workflow)
    before = engine.dump(workflow)

    with pytest.raises(InvalidInput):
        engine.complete_user_task(workflow, review.id, data)

    assert engine.dump(workflow) == before


def test_datetime_variables_are_stored_as_iso_text(engine: Engine) -> None:
    process = fixture("review")
    when = datetime(2025, 3, 10, 17, 0, tzinfo=SHANGHAI)

    workflow = engine.start(process.content_hash, process.xml, {"reply_due": when})

    assert engine.data(workflow)["reply_due"] == "2025-03-10T17:00:00+08:00"
    json.loads(engine.dump(workflow))


def test_typename_variable_is_refused_at_start(engine: Engine) -> None:
    process = fixture("review")

    with pytest.raises(InvalidInput):
        engine.start(process.content_hash, process.xml, {"typename": "x"})


def test_restored_workflow_runs_scripts_in_the_sandbox(engine: Engine) -> None:
    process = definition(linear(
        '<bpmn:userTask id="ask" camunda:candidateGroups="clerk" />',
        '<bpmn:scriptTask id="after_restore"><bpmn:script>x = open("/etc/passwd").read()</bpmn:script>'
        "</bpmn:scriptTask>",
    ))
    workflow = engine.start(process.content_hash, process.xml, {})
    restored = engine.restore(engine.dump(workflow), process.content_hash, process.xml)
    [task] = engine.ready_user_tasks(restored)

    with pytest.raises(ScriptError) as caught:
        engine.complete_user_task(restored, task.id, {})

    assert "after_restore" in caught.value.message_zh


def test_state_is_lean_and_bound_to_its_definition_version(engine: Engine) -> None:
    process = fixture("review")
    workflow = engine.start(process.content_hash, process.xml, {})

    state = json.loads(engine.dump(workflow))

    assert "spec" not in state and "subprocess_specs" not in state
    assert state["spec_ref"] == {"process": "test_review", "content_hash": process.content_hash}
    other = definition(process.xml + b"\n")
    with pytest.raises(ValueError):
        engine.restore(json.dumps(state), other.content_hash, other.xml)


def test_spec_is_parsed_once_per_version(engine: Engine) -> None:
    process = fixture("review")

    first = engine.spec(process.content_hash, process.xml)

    assert engine.spec(process.content_hash, process.xml) is first
    with pytest.raises(ValueError):
        engine.spec("0" * 64, process.xml)


def test_cancel_closes_every_open_task(engine: Engine) -> None:
    workflow, _ = _started_at_review(engine)

    engine.cancel(workflow)

    assert engine.is_completed(workflow)
    assert engine.ready_user_tasks(workflow) == []


def test_plain_and_manual_tasks_pass_through(engine: Engine) -> None:
    process = definition(linear('<bpmn:task id="note" />', '<bpmn:manualTask id="sign_paper" />'))

    workflow = engine.start(process.content_hash, process.xml, {})

    assert engine.is_completed(workflow)


def test_state_stays_flat_over_200_review_rounds(engine: Engine) -> None:
    run = Runner(engine, fixture("review"), restore_each_step=True)
    run.start({})
    run.complete("submit", {"title": "t", "needs_review": True})
    sizes: dict[int, int] = {}

    for round_number in range(1, 201):
        run.complete("review", {"approved": False})
        sizes[round_number] = len(run.last_state)

    assert engine.data(run.wf)["review_rounds"] == 200
    assert run.ready() == ["review"]
    assert sizes[200] < 1.5 * sizes[10]
    run.complete("review", {"approved": True})
    assert engine.is_completed(run.wf)
    assert engine.data(run.wf)["review_rounds"] == 201


def test_completing_a_predicted_user_task_raises_and_changes_nothing(
        engine: Engine, frozen_clock: datetime) -> None:
    process = fixture("timer")
    variables = {"reply_due": "2025-03-10T17:00:00+08:00", "publish_at": "2025-03-20T09:00:00+08:00"}
    workflow = engine.start(process.content_hash, process.xml, variables)
    [escalate] = workflow.get_tasks(spec_name="escalate")
    before = engine.dump(workflow)

    with pytest.raises(TaskNotReady):
        engine.complete_user_task(workflow, str(escalate.id), {})

    assert engine.dump(workflow) == before
    assert [t.task_spec for t in engine.ready_user_tasks(workflow)] == ["reply"]


def test_an_engine_fault_at_start_is_a_422_naming_the_element(engine: Engine) -> None:
    """A plain task declaring a data output nothing produces: SpiffWorkflow raises WorkflowDataException
    (an answer of 500 before); now a 422 in Chinese naming the element and the data."""
    process = definition(linear(
        '<bpmn:task id="prepare"><bpmn:ioSpecification><bpmn:dataOutput id="out_doc" name="doc" />'
        '<bpmn:inputSet /><bpmn:outputSet><bpmn:dataOutputRefs>out_doc</bpmn:dataOutputRefs></bpmn:outputSet>'
        '</bpmn:ioSpecification></bpmn:task>',
        '<bpmn:userTask id="fill" camunda:candidateGroups="clerk" />'))
    with pytest.raises(ProcessStepFailed) as caught:
        engine.start(process.content_hash, process.xml, {})
    error = caught.value
    assert error.status_code == 422 and error.code == "process_step_failed"
    assert error.extra["element_id"] == "prepare"
    assert error.message_zh.startswith("流程元素 prepare：声明的输出数据“out_doc”（doc）没有值")
    # Given the variable (SpiffWorkflow keys it by the output's id), the same definition runs on.
    workflow = engine.start(process.content_hash, process.xml, {"out_doc": "材料"})
    assert [t.task_spec for t in engine.ready_user_tasks(workflow)] == ["fill"]
