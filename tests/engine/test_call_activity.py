"""Call activities: a reusable sub-procedure (e.g. 法制审核) in the same file or another deployed process."""

from __future__ import annotations

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow

from app.engine.bpmn import describe
from app.engine.core import Called, Engine
from app.engine.errors import BpmnRejected
from tests.engine.support import NAMESPACES, Definition, definition

RESTORE = pytest.mark.parametrize("restore", [False, True], ids=["in_memory", "restore_each_step"])

LEGAL_REVIEW = """
  <bpmn:process id="{key}" name="法制审核" isExecutable="{executable}">
    <bpmn:startEvent id="lr_start" />
    <bpmn:sequenceFlow id="lr_f1" sourceRef="lr_start" targetRef="legal_review" />
    <bpmn:userTask id="legal_review" name="{task_name}" camunda:candidateGroups="reviewer" camunda:dueDate="3WD">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="legal_opinion" label="法制审核意见" type="string" />
      </camunda:formData></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="lr_f2" sourceRef="legal_review" targetRef="lr_end" />
    <bpmn:endEvent id="lr_end" />
  </bpmn:process>"""


def callee(key: str = "common_legal_review", task_name: str = "法制审核") -> bytes:
    """A deployable sub-procedure: one reviewer task with a form."""
    body = LEGAL_REVIEW.format(key=key, executable="true", task_name=task_name)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NAMESPACES} id="d_lr" targetNamespace="http://govflow.example/bpmn">{body}
</bpmn:definitions>""".encode()


def caller(called: str = "common_legal_review", *, key: str = "test_caller", in_file: bool = False,
           extra: str = "") -> bytes:
    """A process: draft (clerk) → call `called` → publish (clerk); optionally with the callee in the same file."""
    local = LEGAL_REVIEW.format(key=called, executable="true", task_name="法制审核") if in_file else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NAMESPACES} id="d_caller" targetNamespace="http://govflow.example/bpmn">
  <bpmn:process id="{key}" name="规范性文件审查" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="draft" />
    <bpmn:userTask id="draft" name="起草" camunda:candidateGroups="clerk" />
    <bpmn:sequenceFlow id="f2" sourceRef="draft" targetRef="call_review" />
    <bpmn:callActivity id="call_review" name="法制审核" calledElement="{called}" />
    <bpmn:sequenceFlow id="f3" sourceRef="call_review" targetRef="publish" />
    <bpmn:userTask id="publish" name="发布" camunda:candidateGroups="clerk" />
    <bpmn:sequenceFlow id="f4" sourceRef="publish" targetRef="end" />
    <bpmn:endEvent id="end" />{extra}
  </bpmn:process>{local}
</bpmn:definitions>""".encode()


class Run:
    """An instance of one definition, saved and restored between steps when asked."""

    def __init__(self, engine: Engine, d: Definition, called: Called | None, restore: bool) -> None:
        self.engine, self.d, self.called, self.restore = engine, d, called, restore
        self.workflow: BpmnWorkflow = engine.start(d.content_hash, d.xml, {"doc": "关于数据共享的通知"}, called)
        self.again()

    def again(self) -> None:
        if self.restore:
            state = self.engine.dump(self.workflow)
            self.workflow = self.engine.restore(state, self.d.content_hash, self.d.xml, self.called)

    def complete(self, task_spec: str, data: dict[str, object]) -> None:
        [task] = [t for t in self.engine.ready_user_tasks(self.workflow) if t.task_spec == task_spec]
        self.engine.complete_user_task(self.workflow, task.id, data)
        self.again()

    def ready(self) -> list[str]:
        return [t.task_spec for t in self.engine.ready_user_tasks(self.workflow)]


def _walk(run: Run) -> None:
    assert run.ready() == ["draft"]
    run.complete("draft", {"draft_no": "豫政数〔2026〕1号"})
    # The callee's task is ready with the caller's variables passed in.
    [review] = run.engine.ready_user_tasks(run.workflow)
    assert (review.task_spec, review.name) == ("legal_review", "法制审核")
    assert review.data["draft_no"] == "豫政数〔2026〕1号" and review.data["doc"] == "关于数据共享的通知"
    run.complete("legal_review", {"legal_opinion": "合法"})
    # Its variables come back to the caller.
    [publish] = run.engine.ready_user_tasks(run.workflow)
    assert publish.task_spec == "publish" and publish.data["legal_opinion"] == "合法"
    run.complete("publish", {})
    assert run.engine.is_completed(run.workflow)


@RESTORE
def test_call_activity_runs_a_process_of_the_same_file(engine: Engine, restore: bool) -> None:
    _walk(Run(engine, definition(caller(in_file=True)), None, restore))


@RESTORE
def test_call_activity_runs_another_deployed_process(engine: Engine, restore: bool) -> None:
    review = definition(callee())
    called: Called = {"common_legal_review": (review.content_hash, review.xml)}
    _walk(Run(engine, definition(caller()), called, restore))


def test_a_finished_called_process_is_pruned_from_the_saved_state(engine: Engine) -> None:
    review = definition(callee())
    called: Called = {"common_legal_review": (review.content_hash, review.xml)}
    run = Run(engine, definition(caller()), called, restore=True)
    run.complete("draft", {})
    assert len(run.workflow.subprocesses) == 1  # the call is running
    run.complete("legal_review", {"legal_opinion": "合法"})
    assert run.workflow.subprocesses == {}
    # The diagram's trail still knows the callee's task was done.
    assert "legal_review" in engine.dump(run.workflow)


def test_a_caller_version_runs_against_the_callee_version_it_was_compiled_with(engine: Engine) -> None:
    v1, v2 = definition(callee(task_name="法制审核")), definition(callee(task_name="合法性审查"))
    d = definition(caller())
    first = Run(engine, d, {"common_legal_review": (v1.content_hash, v1.xml)}, restore=True)
    second = Run(engine, d, {"common_legal_review": (v2.content_hash, v2.xml)}, restore=True)
    first.complete("draft", {})
    second.complete("draft", {})
    assert [t.name for t in engine.ready_user_tasks(first.workflow)] == ["法制审核"]
    assert [t.name for t in engine.ready_user_tasks(second.workflow)] == ["合法性审查"]


def test_callee_user_tasks_are_described_with_the_caller() -> None:
    described = describe(caller(), {"common_legal_review": callee()})
    assert set(described.user_tasks) == {"draft", "legal_review", "publish"}
    review = described.user_tasks["legal_review"]
    assert review.candidate_groups == ("reviewer",) and review.due_date == "3WD"
    assert [f.id for f in review.form] == ["legal_opinion"]
    assert described.called == ("common_legal_review",)
    assert set(describe(caller(in_file=True)).user_tasks) == {"draft", "legal_review", "publish"}


def _problems(xml: bytes, called: dict[str, bytes] | None) -> list[tuple[str | None, str]]:
    with pytest.raises(BpmnRejected) as exc:
        describe(xml, called)
    return [(element, code) for element, _, code in exc.value.problems]


def test_a_call_to_a_process_not_deployed_is_refused_naming_the_element() -> None:
    with pytest.raises(BpmnRejected) as exc:
        describe(caller("no_such_process"), {})
    assert [(p[0], p[2]) for p in exc.value.problems] == [("call_review", "call_target")]
    assert "no_such_process" in exc.value.message_zh and "尚未部署" in exc.value.message_zh


def test_calls_without_target_to_itself_or_with_variable_mappings_are_refused() -> None:
    assert ("call_review", "call_target") in _problems(caller("test_caller"), {})
    mapped = caller().replace(b'calledElement="common_legal_review" />', b'calledElement="common_legal_review">'
                              b'<bpmn:extensionElements><camunda:in variables="all" /></bpmn:extensionElements>'
                              b'</bpmn:callActivity>')
    assert _problems(mapped, {"common_legal_review": callee()}) == [("call_review", "unsupported")]


def test_a_callee_task_sharing_an_id_with_a_different_caller_task_is_refused() -> None:
    clash = callee().replace(b'"legal_review"', b'"publish"')
    assert _problems(caller(), {"common_legal_review": clash}) == [("publish", "call_target")]


# --- through the runner and the inbox ------------------------------------------------------------

def _todo(client, instance_id: int) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    items = client.get("/api/tasks", params={"view": "todo"}).json()["items"]
    return [t for t in items if t["instance_id"] == instance_id]


def test_a_callee_user_task_lands_in_the_right_inbox_on_the_callee_version_pinned_at_deploy(
        rt, as_user) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from app.engine.models import ProcessDefinition
    from app.org.models import Department

    with rt.db.session() as session:
        rt.runner.deploy(session, callee(), filename="legal_review.bpmn", actor="system")
        definition, _ = rt.runner.deploy(session, caller(), filename="caller.bpmn", actor="system")
        assert definition.meta["called"]["common_legal_review"]["version"] == 1
        gat = session.execute(select(Department.id).where(Department.code == "410000-gat")).scalar_one()
        instance = rt.runner.start(session, "test_caller", variables={"doc": "关于数据共享的通知"}, actor="system",
                                   subject="规范性文件审查", business_ref="LR-1", department_id=gat)
        session.commit()
        instance_id = instance.id
    clerk, reviewer, other = as_user("gat_clerk"), as_user("gat_reviewer"), as_user("scjg_reviewer")
    [draft] = _todo(clerk, instance_id)
    assert clerk.post(f"/api/tasks/{draft['id']}/complete", json={"data": {}}).status_code == 200

    # A new version of the callee changes neither the running instance nor the deployed caller.
    with rt.db.session() as session:
        rt.runner.deploy(session, callee(task_name="合法性审查"), filename="legal_review.bpmn", actor="system")
        session.commit()
    [review] = _todo(reviewer, instance_id)
    assert (review["name"], review["task_spec"], review["role"]) == ("法制审核", "legal_review", "reviewer")
    # The instance's diagram is drawn while it is inside the called process.
    diagram = reviewer.get(f"/api/instances/{instance_id}/diagram")
    assert diagram.status_code == 200, diagram.text
    assert diagram.json()["elements"]["call_review"]["state"] == "active"
    assert reviewer.get(f"/api/tasks/{review['id']}").json()["form"][0]["id"] == "legal_opinion"
    assert _todo(other, instance_id) == [] and _todo(clerk, instance_id) == []
    r = reviewer.post(f"/api/tasks/{review['id']}/complete", json={"data": {"legal_opinion": "合法"}})
    assert r.status_code == 200, r.text
    [publish] = _todo(clerk, instance_id)
    assert publish["task_spec"] == "publish"

    with rt.db.session() as session:
        second = rt.runner.start(session, "test_caller", variables={}, actor="system", subject="第二件",
                                 business_ref="LR-2", department_id=gat)
        session.commit()
        second_id = second.id
    [draft] = _todo(clerk, second_id)
    clerk.post(f"/api/tasks/{draft['id']}/complete", json={"data": {}})
    assert [t["name"] for t in _todo(reviewer, second_id)] == ["法制审核"]  # still the pinned version 1
    # Deploying the caller again pins the callee's newest version.
    with rt.db.session() as session:
        redeployed = rt.runner.deploy_new_version(session, caller(extra='<bpmn:textAnnotation id="note" />'),
                                                  filename="caller.bpmn", actor="system")
        session.commit()
        assert redeployed.meta["called"]["common_legal_review"]["version"] == 2
        versions = session.execute(select(ProcessDefinition.version).where(
            ProcessDefinition.process_key == "test_caller").order_by(ProcessDefinition.version)).scalars().all()
        assert versions == [1, 2]


def test_deploying_a_caller_whose_callee_is_not_deployed_is_refused(rt) -> None:  # type: ignore[no-untyped-def]
    with rt.db.session() as session, pytest.raises(BpmnRejected) as exc:
        rt.runner.deploy(session, caller(), filename="caller.bpmn", actor="system")
    assert exc.value.problems[0][0] == "call_review" and exc.value.problems[0][2] == "call_target"
