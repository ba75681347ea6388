"""Collaborations: a file whose executable pools message each other deploys as one process; an instance runs
every pool, messages thrown in one pool reach the catch of another along the message flows drawn between
them, and a pool started by a message starts when the other pool sends it."""

from __future__ import annotations

from typing import Any

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.engine.bpmn import describe
from app.engine.core import Engine
from app.engine.errors import BpmnRejected
from app.engine.models import InstanceStatus, MessageSubscription, ProcessInstance
from app.org.models import Department
from tests.engine.support import Definition, definition, fixture

RESTORE = pytest.mark.parametrize("restore", [False, True], ids=["in_memory", "restore_each_step"])
COLLAB = fixture("collaboration")
TEXT = COLLAB.xml.decode()


def variant(*replacements: tuple[str, str]) -> bytes:
    """The collaboration fixture with some of its text replaced (each replacement must apply)."""
    text = TEXT
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return text.encode()


def problems(xml: bytes) -> list[tuple[str | None, str, str]]:
    with pytest.raises(BpmnRejected) as exc:
        describe(xml)
    return exc.value.problems


class Run:
    """One instance on the bare engine facade, saved and restored after every step when `restore`."""

    def __init__(self, engine: Engine, d: Definition, restore: bool, variables: dict[str, Any]) -> None:
        self.engine, self.d, self.restore = engine, d, restore
        self.workflow: BpmnWorkflow = self._again(engine.start(d.content_hash, d.xml, variables))

    def _again(self, workflow: BpmnWorkflow) -> BpmnWorkflow:
        if not self.restore:
            return workflow
        return self.engine.restore(self.engine.dump(workflow), self.d.content_hash, self.d.xml)

    def ready(self) -> list[str]:
        return sorted(t.task_spec for t in self.engine.ready_user_tasks(self.workflow))

    def complete(self, task_spec: str, data: dict[str, Any]) -> dict[str, Any]:
        [task] = [t for t in self.engine.ready_user_tasks(self.workflow) if t.task_spec == task_spec]
        self.engine.complete_user_task(self.workflow, task.id, data)
        self.workflow = self._again(self.workflow)
        return task.data


def test_a_collaboration_deploys_under_its_own_id_with_every_pools_user_tasks() -> None:
    described = describe(COLLAB.xml)
    assert (described.process_key, described.name) == ("test_collab", "共享申请与审批（协作）")
    assert set(described.user_tasks) == {"fill", "prepare", "approve"}
    assert described.user_tasks["approve"].candidate_groups == ("reviewer",)
    assert described.has_messages and described.internal_messages == ("审批结果", "审批请求")


@RESTORE
def test_a_reply_sent_before_the_asking_pool_waits_is_kept_until_it_does(engine: Engine, restore: bool) -> None:
    run = Run(engine, COLLAB, restore, {"case": "GX-1"})
    # The approval pool starts on its message only: nothing of it exists yet.
    assert run.ready() == ["fill"]
    assert engine.waiting_messages(run.workflow) == []
    run.complete("fill", {"title": "居民户籍信息"})
    # 发送审批请求 started the approval pool with the asking pool's variables.
    assert run.ready() == ["approve", "prepare"]
    approve_data = run.complete("approve", {"approved": True, "opinion": "同意"})
    assert approve_data["title"] == "居民户籍信息" and approve_data["case"] == "GX-1"
    # The reply came while 申请方 was still at 准备材料: it waits in the instance, not lost.
    assert run.ready() == ["prepare"] and not engine.is_completed(run.workflow)
    run.complete("prepare", {})
    assert engine.is_completed(run.workflow)
    assert engine.data(run.workflow)["outcome"] == "通过"
    assert run.workflow.bpmn_events == []


@RESTORE
def test_a_reply_reaches_the_catch_event_that_already_waits(engine: Engine, restore: bool) -> None:
    run = Run(engine, COLLAB, restore, {})
    run.complete("fill", {"title": "企业登记信息"})
    run.complete("prepare", {})
    assert engine.waiting_messages(run.workflow) == ["审批结果"]
    run.complete("approve", {"approved": False, "opinion": "不符合共享条件"})
    assert engine.is_completed(run.workflow)
    assert engine.data(run.workflow)["outcome"] == "驳回"


@RESTORE
def test_send_task_and_message_throw_end_event_carry_the_messages_too(engine: Engine, restore: bool) -> None:
    d = definition(variant(
        ('<bpmn:intermediateThrowEvent id="send_request" name="发送审批请求">\n'
         '      <bpmn:messageEventDefinition messageRef="m_request" />\n'
         '    </bpmn:intermediateThrowEvent>',
         '<bpmn:sendTask id="send_request" name="发送审批请求" messageRef="m_request" />')))
    run = Run(engine, d, restore, {})
    run.complete("fill", {"title": "社保缴纳信息"})
    assert run.ready() == ["approve", "prepare"]
    run.complete("prepare", {})
    run.complete("approve", {"approved": True})
    assert engine.is_completed(run.workflow)


def test_a_message_started_pool_starts_per_instance_not_for_every_later_one(engine: Engine) -> None:
    first = Run(engine, COLLAB, False, {})
    first.complete("fill", {"title": "第一件"})
    assert first.ready() == ["approve", "prepare"]
    # SpiffWorkflow wires a message-started pool into the (cached, shared) spec on first use, which
    # would start it at once in every later instance.
    second = Run(engine, COLLAB, True, {})
    assert second.ready() == ["fill"]
    assert engine.waiting_messages(second.workflow) == []
    assert len(second.workflow.subprocesses) == 1


# ---- refusals ----------------------------------------------------------------------------------


def test_a_throw_with_no_message_flow_to_another_pool_is_refused_naming_it() -> None:
    found = problems(variant(
        ('<bpmn:messageFlow id="mf_request" name="审批请求" sourceRef="send_request" targetRef="approval_start" />', '')))
    by_element = {p[0]: p for p in found}
    assert set(by_element) == {"send_request", "approval_start"}
    assert all(p[2] == "message" for p in found)
    assert "没有消息流连到本协作中另一个可执行池" in by_element["send_request"][1]
    assert "永远不会启动" in by_element["approval_start"][1]


@RESTORE
def test_with_no_message_flow_drawn_at_all_messages_go_by_name_between_pools(engine: Engine, restore: bool) -> None:
    # SpiffWorkflow's own collaboration files draw no message flows; it routes by message name, and so do we.
    xml = variant(*((line, "") for line in TEXT.splitlines(keepends=True) if "<bpmn:messageFlow " in line))
    assert "<bpmn:messageFlow " not in xml.decode()
    run = Run(engine, definition(xml), restore, {"case": "GX-2"})
    run.complete("fill", {"title": "企业登记信息"})
    assert run.ready() == ["approve", "prepare"]
    run.complete("approve", {"approved": True, "opinion": "同意"})
    run.complete("prepare", {})
    assert engine.is_completed(run.workflow) and engine.data(run.workflow)["outcome"] == "通过"


def test_a_message_flow_to_a_catch_of_another_message_is_refused() -> None:
    found = problems(variant(('<bpmn:messageEventDefinition messageRef="m_request" />\n    </bpmn:startEvent>',
                              '<bpmn:messageEventDefinition messageRef="m_reply" />\n    </bpmn:startEvent>')))
    messages = [p[1] for p in found if p[0] == "send_request"]
    assert any("等待消息“审批结果”" in m and "发送的是“审批请求”" in m for m in messages), found


def test_a_message_flow_drawn_to_the_pool_reaches_its_catch_of_that_message(engine: Engine) -> None:
    d = definition(variant(('targetRef="approval_start"', 'targetRef="p_approval"')))
    run = Run(engine, d, True, {})
    run.complete("fill", {"title": "不动产登记信息"})
    assert run.ready() == ["approve", "prepare"]


def test_a_pool_that_is_not_executable_makes_the_throws_into_it_refused_as_before() -> None:
    found = problems(variant(('id="collab_approval" name="审批方" isExecutable="true"',
                              'id="collab_approval" name="审批方" isExecutable="false"')))
    assert ("send_request", "message") in [(p[0], p[2]) for p in found]
    assert any("消息抛出事件不受支持" in p[1] for p in found if p[0] == "send_request")


def test_a_collaboration_where_every_pool_waits_for_a_message_is_refused() -> None:
    found = problems(variant(('<bpmn:startEvent id="order_start" name="提出申请" />',
                              '<bpmn:startEvent id="order_start" name="提出申请">'
                              '<bpmn:messageEventDefinition messageRef="m_reply" /></bpmn:startEvent>')))
    assert any(p[0] == "test_collab" and "没有池能先启动" in p[1] for p in found), found


def test_several_executable_processes_outside_one_collaboration_are_refused() -> None:
    found = problems(variant(('<bpmn:participant id="p_approval" name="审批方" processRef="collab_approval" />', '')))
    assert found[0][0] is None and found[0][2] == "parse"
    assert "实际为 2 个，且不同属一个协作" in found[0][1]


# ---- through the runner: every step a request, saved and restored ------------------------------


def _todo(client, instance_id: int) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    items = client.get("/api/tasks", params={"view": "todo"}).json()["items"]
    return [t for t in items if t["instance_id"] == instance_id]


def _complete(client, instance_id: int, task_spec: str, data: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    [task] = [t for t in _todo(client, instance_id) if t["task_spec"] == task_spec]
    r = client.post(f"/api/tasks/{task['id']}/complete", json={"data": data})
    assert r.status_code == 200, r.text


def _subscriptions(rt, instance_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    with rt.db.session() as session:
        return list(session.execute(select(MessageSubscription.message_name)
                                    .where(MessageSubscription.instance_id == instance_id)).scalars())


def test_a_collaboration_runs_through_the_runner_inboxes_and_diagram(rt, as_user) -> None:  # type: ignore[no-untyped-def]
    with rt.db.session() as session:
        definition_row, created = rt.runner.deploy(session, COLLAB.xml, filename="collaboration.bpmn",
                                                   actor="system")
        assert created and (definition_row.process_key, definition_row.name) == ("test_collab", "共享申请与审批（协作）")
        gat = session.execute(select(Department.id).where(Department.code == "410000-gat")).scalar_one()
        instance = rt.runner.start(session, "test_collab", variables={"case": "GX-9"}, actor="system",
                                   subject="协作试验", business_ref="COLLAB-1", department_id=gat)
        session.commit()
        instance_id = int(instance.id)
    clerk, reviewer = as_user("gat_clerk"), as_user("gat_reviewer")
    assert [t["task_spec"] for t in _todo(clerk, instance_id)] == ["fill"]
    assert _todo(reviewer, instance_id) == []
    _complete(clerk, instance_id, "fill", {"title": "居民户籍信息"})
    # Each pool's task lands in its role's inbox.
    assert [t["task_spec"] for t in _todo(clerk, instance_id)] == ["prepare"]
    assert [t["task_spec"] for t in _todo(reviewer, instance_id)] == ["approve"]
    _complete(clerk, instance_id, "prepare", {})
    # 申请方 waits for 审批结果 from the other pool: no outside sender may deliver it.
    assert _subscriptions(rt, instance_id) == []
    r = clerk.post("/api/messages", json={"message": "审批结果", "business_ref": "COLLAB-1",
                                          "variables": {"approved": True}})
    assert r.status_code == 404 and r.json()["detail"]["code"] == "no_waiting_instance"
    diagram = reviewer.get(f"/api/instances/{instance_id}/diagram")
    assert diagram.status_code == 200, diagram.text
    states = {k: v["state"] for k, v in diagram.json()["elements"].items()}
    assert states["approve"] == "active" and states["wait_reply"] == "active"
    assert states["fill"] == "completed" and states["approval_start"] == "completed"

    _complete(reviewer, instance_id, "approve", {"approved": True, "opinion": "同意"})
    with rt.db.session() as session:
        row = session.get(ProcessInstance, instance_id)
        assert row is not None and row.status == InstanceStatus.completed.value
        assert rt.runner.variables(session, row)["outcome"] == "通过"
        actions = session.execute(select(AuditEvent.action).where(AuditEvent.instance_id == instance_id)
                                  .order_by(AuditEvent.seq)).scalars().all()
    assert actions.count("task.completed") == 3 and actions[-1] == "instance.completed"
    assert _todo(clerk, instance_id) == [] and _todo(reviewer, instance_id) == []


def test_the_designer_validates_and_deploys_a_collaboration(app, client, as_user) -> None:  # type: ignore[no-untyped-def]
    from tests.designer.helpers import deploy, versions
    from tests.web.test_pages import _login

    designer = as_user("designer")
    r = designer.post("/api/designer/validate", json={"xml": TEXT})
    assert r.status_code == 200 and r.json()["problems"] == [], r.text
    r = designer.post("/api/designer/drafts", json={"title": "协作草稿", "xml": TEXT})
    assert r.status_code == 201, r.text
    assert r.json()["process_key"] == "test_collab"
    assert deploy(designer, as_user("demo_admin"), TEXT) == 1
    assert [v["version"] for v in versions(designer, "test_collab")] == [1]
    pages = _login(app, "designer")
    page = pages.get("/designer/processes/test_collab/versions/1")
    assert page.status_code == 200 and "共享申请与审批（协作）" in page.text
    workspace = pages.get("/designer")
    assert workspace.status_code == 200 and 'id="process-test_collab"' in workspace.text
    bpmn = designer.get("/api/processes/test_collab/versions/1/bpmn")
    assert bpmn.status_code == 200 and 'id="collab_approval"' in bpmn.text


def test_an_instance_inside_a_message_started_pool_moves_to_a_new_version(engine: Engine) -> None:
    run = Run(engine, COLLAB, True, {})
    run.complete("fill", {"title": "居民户籍信息"})
    renamed = definition(variant(('name="登记结果"', 'name="登记审批结果"')))
    plan = engine.plan_migration(run.workflow, renamed.content_hash, renamed.xml)
    assert plan.problems == []
    engine.migrate(run.workflow, plan)
    moved = engine.restore(engine.dump(run.workflow), renamed.content_hash, renamed.xml)
    assert sorted(t.task_spec for t in engine.ready_user_tasks(moved)) == ["approve", "prepare"]
    # A step the instance is at, changed: named, as for any process.
    changed = definition(variant(('name="审批" camunda:candidateGroups', 'name="审核" camunda:candidateGroups')))
    problems = engine.plan_migration(moved, changed.content_hash, changed.xml).problems
    assert [p.element for p in problems] == ["approve"]
