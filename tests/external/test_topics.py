"""Each worker system works only its own topics (issue 16, security): a system client with the scope
external_task:work names the topics it may fetch (exact, or `prefix.*`); any other topic is refused with
nothing locked, and a topic taken away after a task was locked stops that worker from finishing it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.core.clock import clock
from app.external.models import ExternalTask
from app.external.topics import topic_allowed
from tests.external.helpers import fetch, register_worker, start

FETCH = "/api/external-tasks/fetch-and-lock"


def _code(r: Any) -> str:
    return str(r.json()["detail"]["code"])


def _statuses(rt: Any, instance_id: int) -> list[tuple[str, str, str | None]]:
    with rt.db.session() as session:
        return [(r.topic, r.status, r.worker_id) for r in session.execute(
            select(ExternalTask).where(ExternalTask.instance_id == instance_id).order_by(ExternalTask.id)).scalars()]


def _audit(rt: Any, action: str) -> list[dict[str, Any]]:
    with rt.db.session() as session:
        return [dict(d) for d in session.execute(select(AuditEvent.detail).where(AuditEvent.action == action)
                                                 .order_by(AuditEvent.seq)).scalars()]


def _system(admin: Any, code: str) -> dict[str, Any]:
    [system] = [s for s in admin.get("/api/usage/systems").json() if s["code"] == code]
    return dict(system)


def test_a_topic_not_allowed_is_refused_and_nothing_is_locked(client, as_user, rt) -> None:
    notifier = register_worker(as_user("demo_admin"), code="sms-gateway", topics=["notify_applicant"])
    instance_id = start(rt, "GX-TOP-1", {"grant_no": "GX-TOP-1", "items": ["姓名"], "terms": "仅限社保核验"})
    r = client.post(FETCH, headers=notifier, json={"worker_id": "w1", "max_tasks": 10, "topics": [
        {"name": "notify_applicant", "lock_duration_ms": 60_000},
        {"name": "exchange.grant", "lock_duration_ms": 60_000}]})
    assert r.status_code == 403 and _code(r) == "topic_not_allowed"
    assert "exchange.grant" in r.json()["detail"]["message"] and r.json()["detail"]["topic"] == "exchange.grant"
    assert "仅限社保核验" not in r.text
    assert _statuses(rt, instance_id) == [("exchange.grant", "open", None)]
    assert _audit(rt, "external_task.locked") == []
    assert fetch(client, notifier, "w1", topic="notify_applicant") == []  # its own topic: allowed, nothing there
    exchange = register_worker(as_user("demo_admin"), code="exchange-worker", topics=["exchange.grant"])
    [task] = fetch(client, exchange, "w1", topic="exchange.grant")
    assert task["variables"]["terms"] == "仅限社保核验"


def test_a_prefix_pattern_allows_the_topics_under_it_only(client, as_user, rt) -> None:
    auth = register_worker(as_user("demo_admin"), topics=["exchange.*"])
    instance_id = start(rt, "GX-TOP-2")
    [task] = fetch(client, auth, "w1", topic="exchange.grant")
    assert task["process_instance_id"] == instance_id
    assert fetch(client, auth, "w1", topic="exchange.revoke") == []
    for topic in ("exchange", "exchanges.grant", "notify_applicant"):
        r = client.post(FETCH, headers=auth, json={"worker_id": "w1", "max_tasks": 1,
                                                   "topics": [{"name": topic, "lock_duration_ms": 1000}]})
        assert r.status_code == 403 and _code(r) == "topic_not_allowed", topic
    assert topic_allowed(["exchange.*"], "exchange.grant.v2")
    assert not topic_allowed(["exchange.*"], "exchange.")
    assert not topic_allowed(["exchange.grant"], "exchange.grant.v2")


def test_a_worker_system_must_name_valid_topics_and_only_a_worker_system_may(client, as_user, rt) -> None:
    admin = as_user("demo_admin")

    def create(code: str, scopes: list[str], topics: list[Any] | None = None) -> Any:
        return admin.post("/api/usage/systems", json={"code": code, "name": "主题测试系统",
                                                      "department_code": "410000-data", "scopes": scopes,
                                                      **({"topics": topics} if topics is not None else {})})

    none = create("no-topics", ["external_task:work"])
    assert none.status_code == 422 and _code(none) == "client_topics_required"
    assert "主题" in none.json()["detail"]["message"]
    assert _code(create("blank-topics", ["external_task:work"], ["  "])) == "client_topics_required"
    for bad in ("*", ".*", "1bad", "exchange.*.*", "a b", "exchange*", "x" * 101, "交换.开通"):
        r = create("bad-topic", ["external_task:work"], [bad])
        assert r.status_code == 422 and _code(r) == "client_topic_invalid", bad
    many = create("many-topics", ["external_task:work"], [f"topic{i}" for i in range(21)])
    assert many.status_code == 422 and _code(many) == "client_topic_invalid" and "20" in many.json()["detail"]["message"]
    reporter = create("reporter", ["usage:report"], ["exchange.grant"])
    assert reporter.status_code == 422 and _code(reporter) == "client_topics_without_scope"
    assert admin.get("/api/usage/systems").json() == []
    ok = create("exchange-worker", ["external_task:work", "usage:report"],
                ["exchange.grant", " exchange.* ", "exchange.grant", *[f"t{i}" for i in range(18)]])
    assert ok.status_code == 201, ok.text
    assert ok.json()["topics"] == sorted(["exchange.*", "exchange.grant", *[f"t{i}" for i in range(18)]])
    [created] = _audit(rt, "system_client.created")
    assert created["topics"] == ok.json()["topics"]
    assert create("plain-reporter", ["usage:report"]).json()["topics"] == []


def test_an_administrator_changes_a_system_s_topics_and_it_is_audited(client, as_user, rt) -> None:
    admin = as_user("demo_admin")
    auth = register_worker(admin, topics=["notify_applicant"])
    system_id = _system(admin, "exchange-worker")["id"]
    start(rt, "GX-TOP-4")
    url = f"/api/usage/systems/{system_id}/topics"
    assert client.post(FETCH, headers=auth, json={"worker_id": "w1", "max_tasks": 1, "topics": [
        {"name": "exchange.grant", "lock_duration_ms": 1000}]}).status_code == 403
    r = admin.put(url, json={"topics": ["notify_applicant", "exchange.grant"]})
    assert r.status_code == 200 and r.json()["topics"] == ["exchange.grant", "notify_applicant"]
    assert len(fetch(client, auth, "w1")) == 1  # takes effect on the next request
    assert _audit(rt, "system_client.topics_changed") == [{
        "code": "exchange-worker", "before": ["notify_applicant"], "after": ["exchange.grant", "notify_applicant"],
        "added": ["exchange.grant"], "removed": []}]
    assert admin.put(url, json={"topics": ["notify_applicant", "exchange.grant"]}).status_code == 200
    assert len(_audit(rt, "system_client.topics_changed")) == 1  # unchanged: nothing to record
    for body, code in (({"topics": []}, "client_topics_required"), ({"topics": ["*"]}, "client_topic_invalid")):
        r = admin.put(url, json=body)
        assert r.status_code == 422 and _code(r) == code
    assert _system(admin, "exchange-worker")["topics"] == ["exchange.grant", "notify_applicant"]
    assert admin.put(url, json={"topics": "exchange.grant"}).status_code == 422
    assert as_user("rst_clerk").put(url, json={"topics": ["exchange.*"]}).status_code == 403
    missing = admin.put("/api/usage/systems/999999/topics", json={"topics": ["exchange.*"]})
    assert missing.status_code == 404 and _code(missing) == "client_not_found"
    reporter = admin.post("/api/usage/systems", json={"code": "reporter", "name": "日志报送系统",
                                                      "department_code": "410000-data"}).json()
    r = admin.put(f"/api/usage/systems/{reporter['id']}/topics", json={"topics": ["exchange.grant"]})
    assert r.status_code == 422 and _code(r) == "client_topics_without_scope"
    assert admin.post(f"/api/usage/systems/{system_id}/deactivate").status_code == 200
    r = admin.put(url, json={"topics": ["exchange.*"]})
    assert r.status_code == 409 and _code(r) == "client_inactive"
    with rt.db.session() as session:
        label = session.execute(select(AuditEvent).where(AuditEvent.action == "system_client.topics_changed")
                                ).scalar_one()
        assert (label.actor, label.entity_type, label.entity_id) == ("demo_admin", "system_client", str(system_id))


def test_a_task_locked_before_its_topic_was_removed_cannot_be_finished(client, as_user, rt) -> None:
    admin = as_user("demo_admin")
    auth = register_worker(admin, topics=["exchange.grant", "notify_applicant"])
    system_id = _system(admin, "exchange-worker")["id"]
    instance_id = start(rt, "GX-TOP-5")
    [task] = fetch(client, auth, "w1", lock_ms=600_000)
    assert admin.put(f"/api/usage/systems/{system_id}/topics", json={"topics": ["notify_applicant"]}).status_code == 200
    for action, body in (("complete", {"worker_id": "w1", "variables": {"account": "acct-1"}}),
                         ("failure", {"worker_id": "w1", "error_message": "x", "retries": 0}),
                         ("bpmn-error", {"worker_id": "w1", "error_code": "EXCHANGE_REJECTED"}),
                         ("extend-lock", {"worker_id": "w1", "new_duration_ms": 60_000})):
        r = client.post(f"/api/external-tasks/{task['id']}/{action}", headers=auth, json=body)
        assert r.status_code == 403 and _code(r) == "topic_not_allowed", action
        assert "exchange.grant" in r.json()["detail"]["message"]
    assert _statuses(rt, instance_id) == [("exchange.grant", "locked", "w1")]
    assert _audit(rt, "external_task.completed") == []
    # The lock runs out and the system now allowed to do the step takes it over.
    other = register_worker(admin, code="exchange-platform", topics=["exchange.*"])
    assert fetch(client, other, "p1") == []
    clock.advance(timedelta(minutes=10))
    [again] = fetch(client, other, "p1")
    assert again["id"] == task["id"]
    done = client.post(f"/api/external-tasks/{task['id']}/complete", headers=other, json={"worker_id": "p1"})
    assert done.status_code == 200 and done.json()["status"] == "completed"
