"""Factories for the external task tests: a worker system, the test diagram started as an instance."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.org.models import Department

DIAGRAM = (Path(__file__).resolve().parents[1] / "engine" / "bpmn" / "external_task.bpmn").read_bytes()


WORKER_TOPICS = ["exchange.grant", "notify_applicant"]  # the test diagram's and the share process's topics


def register_worker(admin: TestClient, code: str = "exchange-worker", scopes: list[str] | None = None,
                    topics: list[str] | None = None) -> dict[str, str]:
    """Register a system allowed to work external tasks (of WORKER_TOPICS unless told); return its Basic auth header."""
    scopes = scopes or ["external_task:work"]
    if topics is None:
        topics = WORKER_TOPICS if "external_task:work" in scopes else []
    r = admin.post("/api/usage/systems", json={"code": code, "name": "共享交换平台任务执行器",
                                               "department_code": "410000-data", "scopes": scopes,
                                               "topics": topics})
    assert r.status_code == 201, r.text
    system = r.json()
    return basic(system["code"], system["secret"])


def basic(code: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{code}:{secret}".encode()).decode()}


def start(rt: Any, business_ref: str, variables: dict[str, Any] | None = None) -> int:
    """Deploy the test diagram (once) and start an instance waiting at its external task exchange.grant."""
    with rt.db.session() as session:
        rt.runner.deploy(session, DIAGRAM, filename="external_task.bpmn", actor="system")
        dept = session.execute(select(Department.id).where(Department.code == "410000-gat")).scalar_one()
        instance = rt.runner.start(session, "test_external", variables=variables or {"grant_no": business_ref},
                                   actor="system", subject="外部任务", business_ref=business_ref, department_id=dept)
        session.commit()
        return int(instance.id)


def fetch(client: TestClient, auth: dict[str, str], worker: str, *, topic: str = "exchange.grant",
          max_tasks: int = 10, lock_ms: int = 60_000, **extra: Any) -> list[dict[str, Any]]:
    r = client.post("/api/external-tasks/fetch-and-lock", headers=auth, json={
        "worker_id": worker, "max_tasks": max_tasks,
        "topics": [{"name": topic, "lock_duration_ms": lock_ms, **extra}]})
    assert r.status_code == 200, r.text
    return list(r.json())
