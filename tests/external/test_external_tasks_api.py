"""External tasks through the API: workers of other systems fetch and lock by topic, complete, fail with
retries and a back-off, raise BPMN errors; exhausted retries open an incident an administrator retries.
The clock is frozen (tests/conftest.py) and moved by hand for lock expiry and back-off."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.core.clock import clock
from app.engine.models import ProcessInstance, Task
from app.external.models import ExternalTask
from tests.external.helpers import fetch, register_worker, start


def _code(r: Any) -> str:
    return str(r.json()["detail"]["code"])


def _rows(rt: Any, instance_id: int) -> list[tuple[str, str, str]]:
    with rt.db.session() as session:
        return [(r.element_id, r.topic, r.status) for r in session.execute(
            select(ExternalTask).where(ExternalTask.instance_id == instance_id).order_by(ExternalTask.id)).scalars()]


def _actions(rt: Any, instance_id: int) -> list[str]:
    with rt.db.session() as session:
        return list(session.execute(select(AuditEvent.action).where(
            AuditEvent.instance_id == instance_id, AuditEvent.action.like("external_task.%"))
            .order_by(AuditEvent.id)).scalars())


def _open_tasks(rt: Any, instance_id: int) -> list[str]:
    with rt.db.session() as session:
        return list(session.execute(select(Task.task_spec).where(Task.instance_id == instance_id,
                                                                 Task.status == "open")).scalars())


def test_a_worker_fetches_locks_and_completes_and_the_process_runs_on(client, as_user, rt) -> None:
    auth = register_worker(as_user("demo_admin"))
    instance_id = start(rt, "GX-EXT-1", {"grant_no": "GX-EXT-1", "items": ["姓名"], "secret_note": "x"})
    assert _rows(rt, instance_id) == [("provision", "exchange.grant", "open")]
    # Another of its topics has nothing yet; a variables filter returns only the names asked for.
    assert fetch(client, auth, "w1", topic="notify_applicant") == []
    [task] = fetch(client, auth, "w1", variables=["grant_no", "items"])
    assert task["activity_id"] == "provision" and task["business_key"] == "GX-EXT-1"
    assert task["variables"] == {"grant_no": "GX-EXT-1", "items": ["姓名"]}
    assert task["lock_expiration_time"] == (clock.now() + timedelta(minutes=1)).isoformat()
    # Locked: no one else gets it, and another worker may not complete it.
    assert fetch(client, auth, "w2") == []
    r = client.post(f"/api/external-tasks/{task['id']}/complete", headers=auth, json={"worker_id": "w2"})
    assert r.status_code == 409 and _code(r) == "external_task_locked_by_other"
    r = client.post(f"/api/external-tasks/{task['id']}/complete", headers=auth,
                    json={"worker_id": "w1", "variables": {"account": "acct-7"}})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed"
    # The process ran on to the next external task, with the worker's variables.
    assert _rows(rt, instance_id) == [("provision", "exchange.grant", "completed"),
                                      ("notify", "notify_applicant", "open")]
    [notify] = fetch(client, auth, "w1", topic="notify_applicant")
    assert notify["variables"]["account"] == "acct-7"
    again = client.post(f"/api/external-tasks/{task['id']}/complete", headers=auth, json={"worker_id": "w1"})
    assert again.status_code == 409 and _code(again) == "external_task_not_locked"
    assert client.post(f"/api/external-tasks/{notify['id']}/complete", headers=auth,
                       json={"worker_id": "w1"}).status_code == 200
    with rt.db.session() as session:
        assert session.get(ProcessInstance, instance_id).status == "completed"
    assert _actions(rt, instance_id) == ["external_task.created", "external_task.locked", "external_task.completed",
                                         "external_task.created", "external_task.locked",
                                         "external_task.completed"]


def test_an_expired_lock_returns_the_task_to_the_queue(client, as_user, rt) -> None:
    auth = register_worker(as_user("demo_admin"))
    start(rt, "GX-EXT-2")
    [task] = fetch(client, auth, "w1", lock_ms=30_000)
    extended = client.post(f"/api/external-tasks/{task['id']}/extend-lock", headers=auth,
                           json={"worker_id": "w1", "new_duration_ms": 60_000})
    assert extended.status_code == 200
    clock.advance(timedelta(seconds=59))
    assert fetch(client, auth, "w2") == []          # extended: still w1's
    clock.advance(timedelta(seconds=1))
    [again] = fetch(client, auth, "w2")             # expired: w2 gets it
    assert again["id"] == task["id"] and again["worker_id"] == "w2"
    late = client.post(f"/api/external-tasks/{task['id']}/complete", headers=auth, json={"worker_id": "w1"})
    assert late.status_code == 409 and _code(late) == "external_task_locked_by_other"
    clock.advance(timedelta(minutes=2))
    expired = client.post(f"/api/external-tasks/{task['id']}/complete", headers=auth, json={"worker_id": "w2"})
    assert expired.status_code == 409 and _code(expired) == "external_task_lock_expired"
    assert "message" in expired.json()["detail"]


def test_failures_back_off_then_open_an_incident_an_administrator_retries(client, as_user, rt) -> None:
    admin = as_user("demo_admin")
    auth = register_worker(admin)
    instance_id = start(rt, "GX-EXT-3")
    [task] = fetch(client, auth, "w1")
    r = client.post(f"/api/external-tasks/{task['id']}/failure", headers=auth, json={
        "worker_id": "w1", "error_message": "交换平台暂不可用", "error_details": "HTTP 503", "retries": 2,
        "retry_timeout_ms": 300_000})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["retries"]) == ("open", 2)
    assert fetch(client, auth, "w1") == []          # backing off
    clock.advance(timedelta(minutes=5))
    [task] = fetch(client, auth, "w1")
    assert task["retries"] == 2 and task["error_message"] == "交换平台暂不可用"
    r = client.post(f"/api/external-tasks/{task['id']}/failure", headers=auth, json={
        "worker_id": "w1", "error_message": "账号开通被拒", "retries": 0})
    assert r.json()["status"] == "incident"
    clock.advance(timedelta(days=1))
    assert fetch(client, auth, "w1") == []          # an incident is not fetched
    [incident] = admin.get("/api/admin/incidents").json()
    assert (incident["id"], incident["error_message"], incident["incident_by"]) == (
        task["id"], "账号开通被拒", "exchange-worker/w1")
    assert as_user("gat_clerk").get("/api/admin/incidents").status_code == 403
    retried = admin.post(f"/api/admin/incidents/{incident['id']}/retry", json={"retries": 3})
    assert retried.status_code == 200 and retried.json()["status"] == "open"
    assert admin.get("/api/admin/incidents").json() == []
    again = admin.post(f"/api/admin/incidents/{incident['id']}/retry")
    assert again.status_code == 409 and _code(again) == "incident_not_open"
    [task] = fetch(client, auth, "w1")
    assert task["retries"] == 3
    assert client.post(f"/api/external-tasks/{task['id']}/complete", headers=auth,
                       json={"worker_id": "w1"}).status_code == 200
    assert _actions(rt, instance_id) == [
        "external_task.created", "external_task.locked", "external_task.failed", "external_task.locked",
        "external_task.incident_opened", "external_task.retried", "external_task.locked",
        "external_task.completed", "external_task.created"]


def test_a_bpmn_error_is_caught_by_the_boundary_event_and_an_uncaught_one_changes_nothing(
        client, as_user, rt) -> None:
    auth = register_worker(as_user("demo_admin"))
    instance_id = start(rt, "GX-EXT-4")
    [task] = fetch(client, auth, "w1")
    r = client.post(f"/api/external-tasks/{task['id']}/bpmn-error", headers=auth, json={
        "worker_id": "w1", "error_code": "NOT_MODELLED", "error_message": "未知错误"})
    assert r.status_code == 422 and _code(r) == "bpmn_error_uncaught"
    assert "provision" in r.json()["detail"]["message"]
    assert _rows(rt, instance_id) == [("provision", "exchange.grant", "locked")]
    bad = client.post(f"/api/external-tasks/{task['id']}/bpmn-error", headers=auth, json={
        "worker_id": "w1", "error_code": "EXCHANGE_REJECTED", "variables": {"typename": 1}})
    assert bad.status_code == 422 and _code(bad) == "variable_name_invalid"
    r = client.post(f"/api/external-tasks/{task['id']}/bpmn-error", headers=auth, json={
        "worker_id": "w1", "error_code": "EXCHANGE_REJECTED", "error_message": "申请方无接入资质",
        "variables": {"reject_reason": "无接入资质"}})
    assert r.status_code == 200, r.text
    assert _rows(rt, instance_id) == [("provision", "exchange.grant", "completed")]
    assert _open_tasks(rt, instance_id) == ["handle_rejection"]
    with rt.db.session() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert rt.runner.variables(session, instance)["reject_reason"] == "无接入资质"
        assert instance.next_timer_at is None  # the boundary timer went with the task


def test_a_boundary_timer_and_a_cancelled_instance_withdraw_the_external_task(client, as_user, rt) -> None:
    auth = register_worker(as_user("demo_admin"))
    late = start(rt, "GX-EXT-5")
    [task] = fetch(client, auth, "w1")
    clock.advance(timedelta(days=2))
    with rt.db.session() as session:
        assert rt.runner.fire_timers(session, late)
        session.commit()
    assert _rows(rt, late) == [("provision", "exchange.grant", "cancelled")]
    assert _open_tasks(rt, late) == ["urge"]
    r = client.post(f"/api/external-tasks/{task['id']}/complete", headers=auth, json={"worker_id": "w1"})
    assert r.status_code == 409 and _code(r) == "external_task_not_locked"
    cancelled = start(rt, "GX-EXT-6")
    with rt.db.session() as session:
        rt.runner.cancel(session, cancelled, actor="system", reason="申请撤回")
        session.commit()
    assert _rows(rt, cancelled) == [("provision", "exchange.grant", "cancelled")]
    assert fetch(client, auth, "w1") == []
    assert _actions(rt, cancelled) == ["external_task.created", "external_task.cancelled"]


def test_workers_need_the_scope_and_valid_bodies(client, as_user, rt) -> None:
    admin = as_user("demo_admin")
    reporter = register_worker(admin, code="usage-only", scopes=["usage:report"])
    r = client.post("/api/external-tasks/fetch-and-lock", headers=reporter, json={
        "worker_id": "w1", "max_tasks": 1, "topics": [{"name": "exchange.grant", "lock_duration_ms": 1000}]})
    assert r.status_code == 403 and _code(r) == "client_scope_required"
    anonymous = client.post("/api/external-tasks/fetch-and-lock", json={})
    assert anonymous.status_code == 401
    auth = register_worker(admin)
    for body in ({"worker_id": "w1", "max_tasks": 0, "topics": [{"name": "a", "lock_duration_ms": 1}]},
                 {"worker_id": "w1", "max_tasks": 1, "topics": [{"name": "1bad", "lock_duration_ms": 1}]},
                 {"worker_id": "w1", "max_tasks": 1, "topics": []},
                 {"worker_id": "", "max_tasks": 1, "topics": [{"name": "a", "lock_duration_ms": 1}]}):
        assert client.post("/api/external-tasks/fetch-and-lock", headers=auth, json=body).status_code == 422
    repeated = client.post("/api/external-tasks/fetch-and-lock", headers=auth, json={
        "worker_id": "w1", "max_tasks": 1, "topics": [{"name": "a", "lock_duration_ms": 1}] * 2})
    assert repeated.status_code == 422 and _code(repeated) == "topic_repeated"
    missing = client.post("/api/external-tasks/999999/complete", headers=auth, json={"worker_id": "w1"})
    assert missing.status_code == 404 and _code(missing) == "external_task_not_found"
