"""Event-based gateways and boundary timers through the service: the scheduler's timer job and POST /api/messages
end every wait, on the instance's stored next_timer_at (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.core.clock import clock
from app.engine.jobs import fire_due_timers
from app.org.models import Department
from tests.engine.support import fixture

DAY = timedelta(days=1)


def _start(rt, key: str, business_ref: str, variables: dict[str, Any]) -> int:  # type: ignore[no-untyped-def]
    with rt.db.session() as session:
        rt.runner.deploy(session, fixture(key).xml, filename=f"{key}.bpmn", actor="system")
        dept = session.execute(select(Department.id).where(Department.code == "410000-gat")).scalar_one()
        instance = rt.runner.start(session, f"test_{key}", variables=variables, actor="system",
                                   subject="协查", business_ref=business_ref, department_id=dept)
        session.commit()
        return int(instance.id)


def _instance(clerk, instance_id: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    r = clerk.get(f"/api/instances/{instance_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def _open(clerk, instance_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(t["task_spec"] for t in _instance(clerk, instance_id)["open_tasks"])


def _complete(clerk, instance_id: int, task_spec: str) -> None:  # type: ignore[no-untyped-def]
    task = next(t for t in _instance(clerk, instance_id)["open_tasks"] if t["task_spec"] == task_spec)
    r = clerk.post(f"/api/tasks/{task['id']}/complete", json={"data": {}})
    assert r.status_code == 200, r.text


def _next_timer(clerk, instance_id: int) -> datetime | None:  # type: ignore[no-untyped-def]
    value = _instance(clerk, instance_id)["next_timer_at"]
    return datetime.fromisoformat(value) if value else None


def _gateway(rt, clerk, ref: str) -> tuple[int, datetime]:  # type: ignore[no-untyped-def]
    t0 = clock.now()
    instance_id = _start(rt, "wait_gateway", ref, {"close_date": (t0 + 10 * DAY).isoformat(), "urge_after": "P5D"})
    _complete(clerk, instance_id, "ask")
    return instance_id, t0


def test_the_message_branch_wins_and_no_timer_is_left(client, as_user, rt) -> None:
    clerk = as_user("gat_clerk")
    instance_id, t0 = _gateway(rt, clerk, "XC-2026-001")
    assert _next_timer(clerk, instance_id) == t0 + 5 * DAY  # the earliest of the gateway's three timers
    r = clerk.post("/api/messages", json={"message": "协查复函", "business_ref": "XC-2026-001",
                                          "variables": {"reply": "已查实"}})
    assert r.status_code == 200, r.text
    assert r.json()["waiting_for"] == []
    assert _open(clerk, instance_id) == ["handle"] and _next_timer(clerk, instance_id) is None
    clock.freeze(t0 + 30 * DAY)
    assert fire_due_timers(rt) == 0
    assert _open(clerk, instance_id) == ["handle"]


def test_the_scheduler_fires_the_timer_branch_and_the_message_is_no_longer_awaited(client, as_user, rt) -> None:
    clerk = as_user("gat_clerk")
    instance_id, t0 = _gateway(rt, clerk, "XC-2026-002")
    clock.freeze(t0 + 5 * DAY - timedelta(seconds=1))
    assert fire_due_timers(rt) == 0
    clock.freeze(t0 + 5 * DAY)
    assert fire_due_timers(rt) == 1
    assert _open(clerk, instance_id) == ["urge"] and _next_timer(clerk, instance_id) is None
    r = clerk.post("/api/messages", json={"message": "协查复函", "business_ref": "XC-2026-002"})
    assert r.status_code == 404 and r.json()["detail"]["code"] == "no_waiting_instance"
    assert _open(clerk, instance_id) == ["urge"]


def test_boundary_timers_subprocess_and_callee_timers_are_fired_by_the_scheduler(client, as_user, rt) -> None:
    clerk = as_user("gat_clerk")
    t0 = clock.now()
    instance_id = _start(rt, "wait_boundaries", "XC-2026-003", {})
    steps: list[tuple[float, list[str], float | None]] = [
        # (day the scheduler runs, open tasks after it, the next timer after it in days)
        (1, ["note", "review"], 2),
        (2, ["note", "note", "review"], 10),  # the reminder cycle is done, the deadline is left
    ]
    for day, tasks, next_day in steps:
        clock.freeze(t0 + day * DAY)
        assert fire_due_timers(rt) == 1
        assert _open(clerk, instance_id) == tasks
        assert _next_timer(clerk, instance_id) == (t0 + next_day * DAY if next_day is not None else None)
    _complete(clerk, instance_id, "review")
    assert _next_timer(clerk, instance_id) == t0 + 5 * DAY  # the 会签's deadline
    for day, tasks, next_day in [(5, ["note", "note"], 7), (7, ["c_check", "note", "note"], 10)]:
        clock.freeze(t0 + day * DAY)
        assert fire_due_timers(rt) == 1
        assert _open(clerk, instance_id) == tasks
        assert _next_timer(clerk, instance_id) == t0 + next_day * DAY
    clock.freeze(t0 + 8 * DAY)
    _complete(clerk, instance_id, "c_check")
    assert _next_timer(clerk, instance_id) == t0 + 9 * DAY  # the call activity's reminder
    for day, tasks, next_day in [(9, ["chase", "note", "note"], 11), (11, ["chase", "note", "note"], None)]:
        clock.freeze(t0 + day * DAY)
        assert fire_due_timers(rt) == 1
        assert _open(clerk, instance_id) == tasks
        assert _next_timer(clerk, instance_id) == (t0 + next_day * DAY if next_day is not None else None)
    for task in ["chase", "note", "note"]:
        _complete(clerk, instance_id, task)
    assert _instance(clerk, instance_id)["status"] == "completed"
