"""The stuck-instance report: a running instance nothing can move on is found, shown to administrators with
where it sits and since when, audited once; a healthy waiting instance never is; the sweep is bounded."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, update

from app.audit.models import AuditEvent
from app.core.clock import clock
from app.engine.models import MessageSubscription, ProcessInstance, Task
from app.ops.models import StuckScan
from app.ops.stuck import report_stuck_instances
from app.org.models import Department
from app.org.service import get_user_by_username
from tests.engine.support import fixture


def _start(rt, ref: str, *, past_ask: bool = False) -> int:  # type: ignore[no-untyped-def]
    """Start the 协查 process (waits at the user task 'ask'; past it, for a message or three timers)."""
    with rt.db.session() as session:
        rt.runner.deploy(session, fixture("wait_gateway").xml, filename="wait_gateway.bpmn", actor="system")
        dept = session.execute(select(Department.id).where(Department.code == "410000-gat")).scalar_one()
        now = clock.now()
        instance = rt.runner.start(session, "test_wait_gateway", actor="system", subject=f"协查 {ref}",
                                   business_ref=ref, department_id=dept,
                                   variables={"close_date": (now + timedelta(days=10)).isoformat(),
                                              "urge_after": "P5D"})
        session.commit()
        instance_id = int(instance.id)
    if past_ask:
        with rt.db.session() as session:
            task = session.execute(select(Task).where(Task.instance_id == instance_id)).scalar_one()
            actor = rt.actors.get(session, get_user_by_username(session=session, username="gat_clerk").id)
            rt.runner.complete_task(session, task.id, {}, actor)
            session.commit()
    return instance_id


def _report(as_user) -> dict:  # type: ignore[no-untyped-def,type-arg]
    r = as_user("demo_admin").get("/api/admin/stuck-instances")
    assert r.status_code == 200, r.text
    return dict(r.json())


def _stuck_audits(rt) -> list[int]:  # type: ignore[no-untyped-def]
    with rt.db.session() as session:
        return sorted(int(e) for e in session.execute(
            select(AuditEvent.instance_id).where(AuditEvent.action == "instance.stuck")).scalars())


def test_a_stuck_instance_is_reported_where_it_sits_and_a_waiting_one_is_not(client, as_user, rt) -> None:
    at_task = _start(rt, "XC-1")
    at_gateway = _start(rt, "XC-2", past_ask=True)
    lost_task = _start(rt, "XC-3")
    lost_waits = _start(rt, "XC-4", past_ask=True)
    with rt.db.session() as session:
        # XC-3: its open task row is gone from the inbox; XC-4: its timer and its message subscription are gone.
        session.execute(update(Task).where(Task.instance_id == lost_task).values(status="cancelled"))
        session.execute(update(ProcessInstance).where(ProcessInstance.id == lost_waits).values(next_timer_at=None))
        session.execute(delete(MessageSubscription).where(MessageSubscription.instance_id == lost_waits))
        session.commit()
        since = session.get(ProcessInstance, lost_task).updated_at

    assert _report(as_user)["items"] == []  # nothing until the job has looked
    clock.freeze(clock.now() + timedelta(hours=1))
    assert report_stuck_instances(rt) == 2

    report = _report(as_user)
    assert report["total"] == 2 and report["last_pass_completed_at"] == clock.now().isoformat()
    by_id = {item["instance_id"]: item for item in report["items"]}
    assert set(by_id) == {lost_task, lost_waits}  # the healthy ones, at_task and at_gateway, are not stuck
    assert by_id[lost_task]["elements"] == "发出协查函（ask）"
    assert by_id[lost_waits]["elements"] == "等待复函或超时（gw）"
    assert by_id[lost_task]["process_key"] == "test_wait_gateway" and by_id[lost_task]["process_name"] == "协查等待"
    assert by_id[lost_task]["since"] == since.isoformat()
    assert by_id[lost_task]["found_at"] == clock.now().isoformat()
    assert by_id[lost_task]["subject"] == "协查 XC-3" and by_id[lost_task]["business_ref"] == "XC-3"
    assert _stuck_audits(rt) == [lost_task, lost_waits]
    assert at_task not in by_id and at_gateway not in by_id

    # Found again: still reported, audited once, first found when it was.
    found_at = by_id[lost_task]["found_at"]
    clock.freeze(clock.now() + timedelta(hours=1))
    assert report_stuck_instances(rt) == 2
    assert {i["instance_id"]: i["found_at"] for i in _report(as_user)["items"]}[lost_task] == found_at
    assert _stuck_audits(rt) == [lost_task, lost_waits]

    # Its task row restored, the instance can move on: the next pass drops it; a cancelled one goes too.
    with rt.db.session() as session:
        session.execute(update(Task).where(Task.instance_id == lost_task).values(status="open"))
        session.commit()
        rt.runner.cancel(session, lost_waits, actor="system", reason="停滞，撤销后重新发起")
        session.commit()
    assert report_stuck_instances(rt) == 0
    assert _report(as_user) | {"last_pass_completed_at": None} == {
        "total": 0, "items": [], "next_after": None, "last_pass_completed_at": None}


def test_each_run_reads_a_bounded_batch_and_the_sweep_starts_over_after_the_last(client, as_user, rt) -> None:
    ids = [_start(rt, f"XC-{n}") for n in range(5)]
    with rt.db.session() as session:
        session.execute(update(Task).where(Task.instance_id.in_(ids)).values(status="cancelled"))
        session.commit()
    found = [report_stuck_instances(rt, batch=2) for _ in range(3)]
    assert found == [2, 2, 1]
    assert {i["instance_id"] for i in _report(as_user)["items"]} == set(ids)
    with rt.db.session() as session:
        scan = session.get(StuckScan, 1)
        assert scan is not None and scan.after_id == 0 and scan.pass_completed_at is not None
    # The next pass starts from the first instance again.
    assert report_stuck_instances(rt, batch=2) == 2
    with rt.db.session() as session:
        assert session.get(StuckScan, 1).after_id == ids[1]  # type: ignore[union-attr]


def test_the_report_pages_by_instance_id(client, as_user, rt) -> None:
    ids = [_start(rt, f"XC-{n}") for n in range(3)]
    with rt.db.session() as session:
        session.execute(update(Task).where(Task.instance_id.in_(ids)).values(status="cancelled"))
        session.commit()
    report_stuck_instances(rt)
    admin = as_user("demo_admin")
    first = admin.get("/api/admin/stuck-instances", params={"limit": 2}).json()
    assert [i["instance_id"] for i in first["items"]] == ids[:2] and first["next_after"] == ids[1]
    rest = admin.get("/api/admin/stuck-instances", params={"limit": 2, "after": first["next_after"]}).json()
    assert [i["instance_id"] for i in rest["items"]] == ids[2:] and rest["next_after"] is None
    for bad in ({"limit": 0}, {"limit": 501}, {"after": -1}, {"after": "x"}):
        assert admin.get("/api/admin/stuck-instances", params=bad).status_code == 422
    assert as_user("gat_clerk").get("/api/admin/stuck-instances").status_code == 403


HAND_OVER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="http://govflow.example/bpmn">
  <bpmn:process id="test_stuck_external" name="交由外部系统办理" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="hand_over" />
    <bpmn:serviceTask id="hand_over" name="交换平台开通" camunda:type="external" camunda:topic="exchange.grant" />
    <bpmn:sequenceFlow id="f2" sourceRef="hand_over" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>""".encode()


def test_an_instance_waiting_for_a_worker_or_an_incident_retry_is_not_stuck(client, as_user, rt) -> None:
    from app.external.models import ExternalTask

    with rt.db.session() as session:
        rt.runner.deploy(session, HAND_OVER, filename="hand_over.bpmn", actor="system")
        dept = session.execute(select(Department.id).where(Department.code == "410000-gat")).scalar_one()
        ids = [int(rt.runner.start(session, "test_stuck_external", actor="system", subject=f"开通 {n}",
                                   variables={}, department_id=dept).id) for n in range(3)]
        session.commit()
        rows = {row.instance_id: row for row in session.execute(
            select(ExternalTask).where(ExternalTask.instance_id.in_(ids))).scalars()}
        assert {row.status for row in rows.values()} == {"open"}
        # One waits for an administrator's retry; one lost its row (marked done, the engine still waits).
        session.execute(update(ExternalTask).where(ExternalTask.instance_id == ids[1]).values(status="incident"))
        session.execute(update(ExternalTask).where(ExternalTask.instance_id == ids[2]).values(status="completed"))
        session.commit()
    assert report_stuck_instances(rt) == 1
    [item] = _report(as_user)["items"]
    assert item["instance_id"] == ids[2] and item["elements"] == "交换平台开通（hand_over）"
