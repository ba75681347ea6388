"""External task workers against two GovFlow server processes (uvicorn, tests/servers.py) sharing one
database: the test's SQLite file, or PostgreSQL when GOVFLOW_TEST_DATABASE_URL is set (fetch-and-lock then
uses SELECT … FOR UPDATE SKIP LOCKED). Workers fetch concurrently from both servers and every task is handed
to exactly one of them; a lock expires (the demo clock is moved through one server, both follow it) and
another worker gets the task; a failure is retried after its back-off; an incident is retried by an
administrator on the other server."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from app.core.clock import clock
from app.engine.models import ProcessInstance
from app.external.models import ExternalTask
from app.runtime import Runtime
from tests.conftest import DEMO_PASSWORD
from tests.external.helpers import basic, start
from tests.servers import uvicorn_servers

INSTANCES = 16
WORKERS = 6  # concurrent workers, each fetching from both servers in turn


def _login(url: str, username: str) -> dict[str, str]:
    r = httpx.post(f"{url}/api/auth/token", data={"username": username, "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _post(url: str, path: str, headers: dict[str, str], body: dict[str, Any]) -> httpx.Response:
    r = httpx.post(f"{url}{path}", json=body, headers=headers, timeout=60)
    assert r.status_code < 500, (path, r.status_code, r.text)
    return r


def _fetch(url: str, auth: dict[str, str], worker: str, topic: str, *, max_tasks: int = 2,
           lock_ms: int = 600_000) -> list[dict[str, Any]]:
    r = _post(url, "/api/external-tasks/fetch-and-lock", auth, {
        "worker_id": worker, "max_tasks": max_tasks, "topics": [{"name": topic, "lock_duration_ms": lock_ms}]})
    assert r.status_code == 200, r.text
    return list(r.json())


def _move_clock(url: str, admin: dict[str, str], delta: timedelta) -> None:
    now = datetime.fromisoformat(httpx.get(f"{url}/api/admin/clock", headers=admin).json()["now"])
    r = httpx.put(f"{url}/api/admin/clock", json={"now": (now + delta).isoformat()}, headers=admin)
    assert r.status_code == 200, r.text


def test_workers_on_two_servers_get_each_task_once(rt: Runtime, db_url: str) -> None:
    clock.reset()  # instances start on the real clock, as the servers see it
    instance_ids = [start(rt, f"GX-2P-{i:03d}") for i in range(INSTANCES)]
    with uvicorn_servers(db_url, 2, GOVFLOW_SCRIPT_WORKERS="1") as (one, two):
        admin = _login(one, "demo_admin")
        r = _post(one, "/api/usage/systems", admin, {"code": "exchange-worker", "name": "共享交换平台任务执行器",
                                                     "department_code": "410000-data",
                                                     "scopes": ["external_task:work"],
                                                     "topics": ["exchange.grant", "notify_applicant"]})
        assert r.status_code == 201, r.text
        auth = basic(r.json()["code"], r.json()["secret"])

        # 1. Six workers fetch at once, alternating between the servers, until the queue is empty.
        handed: list[tuple[str, int]] = []
        lock = threading.Lock()
        gate = threading.Barrier(WORKERS)

        def work(n: int) -> None:
            gate.wait()
            turn = n
            while True:
                got = _fetch((one, two)[turn % 2], auth, f"w{n}", "exchange.grant")
                turn += 1
                with lock:
                    handed.extend((f"w{n}", task["id"]) for task in got)
                if not got:
                    return

        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(work, range(WORKERS)))
        counts = Counter(task_id for _, task_id in handed)
        assert len(counts) == INSTANCES and set(counts.values()) == {1}, counts
        assert len({worker for worker, _ in handed}) > 1  # really shared out
        owner = {task_id: worker for worker, task_id in handed}

        # Each completes on the server it did not fetch from; the instances move on to notify_applicant.
        for i, (task_id, worker) in enumerate(sorted(owner.items())):
            r = _post((one, two)[i % 2], f"/api/external-tasks/{task_id}/complete", auth,
                      {"worker_id": worker, "variables": {"account": f"acct-{task_id}"}})
            assert r.status_code == 200, r.text

        # 2. A lock expires: w-a locks every notify task for 10 minutes; the clock moves an hour on server one;
        # w-b gets them all (for a day) from server two, and w-a, too late, may no longer complete one.
        notify = _fetch(one, auth, "w-a", "notify_applicant", max_tasks=100, lock_ms=600_000)
        assert len(notify) == INSTANCES
        assert _fetch(two, auth, "w-b", "notify_applicant", max_tasks=100) == []
        _move_clock(one, admin, timedelta(hours=1))
        taken = _fetch(two, auth, "w-b", "notify_applicant", max_tasks=100, lock_ms=24 * 3_600_000)
        assert sorted(t["id"] for t in taken) == sorted(t["id"] for t in notify)
        late = _post(one, f"/api/external-tasks/{notify[0]['id']}/complete", auth, {"worker_id": "w-a"})
        assert late.status_code == 409 and late.json()["detail"]["code"] == "external_task_locked_by_other"

        # 3. A failure with retries backs off; the last failure opens an incident, retried by an administrator
        # on the other server; then the task completes.
        first, second, *rest = taken
        r = _post(two, f"/api/external-tasks/{first['id']}/failure", auth, {
            "worker_id": "w-b", "error_message": "申请方系统暂不可用", "retries": 1, "retry_timeout_ms": 1_800_000})
        assert r.json()["status"] == "open"
        assert [t for t in _fetch(one, auth, "w-c", "notify_applicant", max_tasks=100)] == []  # backing off
        _move_clock(two, admin, timedelta(hours=1))
        [again] = _fetch(one, auth, "w-c", "notify_applicant", max_tasks=100)
        assert again["id"] == first["id"] and again["retries"] == 1
        r = _post(one, f"/api/external-tasks/{first['id']}/failure", auth, {
            "worker_id": "w-c", "error_message": "申请方系统拒绝通知", "retries": 0})
        assert r.json()["status"] == "incident"
        [incident] = httpx.get(f"{two}/api/admin/incidents", headers=_login(two, "demo_admin")).json()
        assert incident["id"] == first["id"] and incident["incident_by"] == "exchange-worker/w-c"
        r = _post(two, f"/api/admin/incidents/{first['id']}/retry", _login(two, "demo_admin"), {"retries": 2})
        assert r.status_code == 200 and r.json()["status"] == "open"
        [retried] = _fetch(one, auth, "w-d", "notify_applicant")
        assert retried["id"] == first["id"]
        for url, task, worker in [(two, retried, "w-d"), (one, second, "w-b"), *((two, t, "w-b") for t in rest)]:
            r = _post(url, f"/api/external-tasks/{task['id']}/complete", auth, {"worker_id": worker})
            assert r.status_code == 200, r.text

    with rt.db.session() as session:
        statuses = session.execute(select(ProcessInstance.status).where(
            ProcessInstance.id.in_(instance_ids))).scalars().all()
        assert Counter(statuses) == {"completed": INSTANCES}
        rows = session.execute(select(ExternalTask.status, ExternalTask.attempts)
                               .order_by(ExternalTask.id)).all()
        assert Counter(status for status, _ in rows) == {"completed": 2 * INSTANCES}
        # Each grant task fetched once; the notify tasks twice (lock expired), the failing one four times.
        assert sorted(attempts for _, attempts in rows) == [1] * INSTANCES + [2] * (INSTANCES - 1) + [4]
