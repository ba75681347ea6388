"""Factories for the usage log tests: a registered exchange system, a grant, events."""

from __future__ import annotations

import base64
from typing import Any

from fastapi.testclient import TestClient

from tests.api.helpers import UNCONDITIONAL, submit


def register_system(admin: TestClient, code: str = "exchange-henan", department_code: str = "410000-data"
                    ) -> dict[str, Any]:
    r = admin.post("/api/usage/systems", json={"code": code, "name": "河南省政务数据共享交换平台",
                                               "department_code": department_code})
    assert r.status_code == 201, r.text
    return r.json()


def basic(code: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{code}:{secret}".encode()).decode()}


def grant_of(clerk: TestClient) -> int:
    """File an unconditional request (省人社厅 obtains 省市场监管局's 市场主体登记信息): granted at once."""
    created = submit(clerk, UNCONDITIONAL)
    assert created["status"] == "granted"
    return int(clerk.get(f"/api/share-requests/{created['id']}").json()["grant"]["id"])


def event(event_id: str, grant_id: int, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"event_id": event_id, "grant_id": grant_id, "items": ["统一社会信用代码", "企业名称"],
                            "rows": 120, "method": "api", "occurred_at": "2026-11-01T10:00:00+08:00",
                            "requesting_system": "社保业务系统", "requesting_user": "rst-op-07"}
    body.update(over)
    return body


def post_events(client: TestClient, system: dict[str, Any], events: list[dict[str, Any]]) -> Any:
    return client.post("/api/usage/events", json={"events": events},
                       headers=basic(system["code"], system["secret"]))
