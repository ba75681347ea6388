"""Helpers of the migration tests: a small process built in the test, deployed and run with the real runner."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.engine.models import ProcessInstance, Task, TaskStatus
from app.org.service import Actor, get_user_by_username, load_actor
from app.runtime import Runtime

PROCESS = "test_migrate"
NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
      'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"')


def bpmn(*steps: str | tuple[str, str], due: str = "5WD", role: str = "reviewer") -> bytes:
    """Build start → user tasks in order → end; a step is an id or (id, name); reviewers work each."""
    pairs = [(s, f"步骤{s}") if isinstance(s, str) else s for s in steps]
    ids = ["start", *[i for i, _ in pairs], "end"]
    tasks = "\n".join(f'<bpmn:userTask id="{i}" name="{n}" camunda:candidateGroups="{role}" '
                      f'camunda:dueDate="{due}" />' for i, n in pairs)
    flows = "\n".join(f'<bpmn:sequenceFlow id="f_{a}_{b}" sourceRef="{a}" targetRef="{b}" />'
                      for a, b in zip(ids, ids[1:]))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NS} id="Definitions_migrate" targetNamespace="http://govflow.example/bpmn">
  <bpmn:process id="{PROCESS}" name="迁移测试流程" isExecutable="true">
    <bpmn:startEvent id="start" />
    {tasks}
    <bpmn:endEvent id="end" />
    {flows}
  </bpmn:process>
</bpmn:definitions>
""".encode()


def deploy(rt: Runtime, xml: bytes) -> int:
    """Deploy a version of the test process; return its version number."""
    with rt.db.session() as s:
        definition, _ = rt.runner.deploy(s, xml, filename=f"{PROCESS}.bpmn", actor="designer")
        s.commit()
        return definition.version


def actor(rt: Runtime, username: str) -> Actor:
    """Return a demo user's Actor."""
    with rt.db.session() as s:
        user = get_user_by_username(session=s, username=username)
        assert user is not None and user.id is not None
        found = load_actor(session=s, user_id=user.id)
        assert found is not None
        return found


def start(rt: Runtime, by: Actor, subject: str = "某公司数据共享申请") -> int:
    """Start the newest version as `by` (its tasks go to `by`'s department, role reviewer)."""
    with rt.db.session() as s:
        instance = rt.runner.start(s, PROCESS, variables={}, actor=by, subject=subject)
        s.commit()
        assert instance.id is not None
        return instance.id


def open_tasks(rt: Runtime, instance_id: int) -> list[Task]:
    """Return the open task rows of an instance."""
    with rt.db.session() as s:
        tasks = list(s.execute(select(Task).where(Task.instance_id == instance_id,
                                                  Task.status == TaskStatus.open.value)
                               .order_by(Task.id)).scalars())
        s.expunge_all()  # plain snapshots: the session's closing rollback must not expire them
        return tasks


def complete(rt: Runtime, instance_id: int, task_spec: str, by: Actor) -> None:
    """Complete the open task of this BPMN id with the real runner."""
    [task] = [t for t in open_tasks(rt, instance_id) if t.task_spec == task_spec]
    with rt.db.session() as s:
        rt.runner.complete_task(s, task.id, {}, by)  # type: ignore[arg-type]
        s.commit()


def row(rt: Runtime, instance_id: int) -> dict[str, Any]:
    """Return what a migration may change on an instance row."""
    with rt.db.session() as s:
        instance = s.get(ProcessInstance, instance_id)
        assert instance is not None
        return {"state": instance.state, "definition_id": instance.definition_id,
                "lock_version": instance.lock_version, "status": instance.status,
                "next_timer_at": instance.next_timer_at, "updated_at": instance.updated_at}


def version_of(rt: Runtime, instance_id: int) -> int:
    """Return the version number an instance runs on."""
    with rt.db.session() as s:
        instance = s.get(ProcessInstance, instance_id)
        assert instance is not None
        return rt.runner.definition(s, instance.definition_id).version


def events(rt: Runtime, instance_id: int, action: str) -> list[AuditEvent]:
    """Return an instance's audit events of one action."""
    with rt.db.session() as s:
        found = list(s.execute(select(AuditEvent).where(AuditEvent.instance_id == instance_id,
                                                        AuditEvent.action == action)
                               .order_by(AuditEvent.seq)).scalars())
        s.expunge_all()
        return found


V1 = bpmn(("prepare", "准备材料"), ("review", "审核"), ("archive", "归档"))
# v2 adds a step after review and deletes archive.
V2 = bpmn(("prepare", "准备材料"), ("review", "审核"), ("sign", "签发"))


def three_instances(rt: Runtime) -> tuple[int, int, int]:
    """Deploy v1, start three instances waiting at prepare, review and archive, then deploy v2."""
    reviewer = actor(rt, "gat_reviewer")
    assert deploy(rt, V1) == 1
    at_prepare = start(rt, reviewer)
    at_review = start(rt, reviewer)
    complete(rt, at_review, "prepare", reviewer)
    at_archive = start(rt, reviewer)
    complete(rt, at_archive, "prepare", reviewer)
    complete(rt, at_archive, "review", reviewer)
    assert deploy(rt, V2) == 2
    return at_prepare, at_review, at_archive
