"""Small factories for API tests."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

CONDITIONAL = "410000-gat-0001"   # 居民户籍信息, 省公安厅, conditional
NOT_SHARED = "410000-gat-0002"    # 刑事案件侦查信息, not shared
UNCONDITIONAL = "410000-scjg-0001"  # 市场主体登记信息, unconditional


def share_request_body(entry_code: str = CONDITIONAL, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "entry_code": entry_code, "items": ["姓名", "公民身份号码"],
        "purpose": "社会保险待遇资格认证", "scope": "省人社厅社保经办人员，社保业务系统",
        "period_from": "2026-11-01", "period_to": "2027-10-31", "method": "api",
        "legal_basis": "《社会保险法》第七十四条",
    }
    if entry_code == UNCONDITIONAL:
        body["items"] = ["统一社会信用代码", "企业名称"]
    if entry_code == NOT_SHARED:
        body["items"] = ["案件编号"]
    body.update(over)
    return body


def submit(clerk: TestClient, entry_code: str = CONDITIONAL, **over: Any) -> dict[str, Any]:
    r = clerk.post("/api/share-requests", json=share_request_body(entry_code, **over))
    assert r.status_code == 201, r.text
    return r.json()


def review_task(reviewer: TestClient, instance_id: int) -> dict[str, Any]:
    todo = reviewer.get("/api/tasks", params={"view": "todo"}).json()["items"]
    mine = [t for t in todo if t["instance_id"] == instance_id]
    assert len(mine) == 1, todo
    return mine[0]


def deploy_approved(designer: TestClient, admin: TestClient, xml: str, filename: str = "trial.bpmn"
                    ) -> dict[str, Any]:
    """Deploy a BPMN file the four-eyes way: the designer submits it, the administrator approves it."""
    r = designer.post("/api/processes", json={"filename": filename, "xml": xml})
    assert r.status_code == 202, r.text
    submission = r.json()
    assert submission["status"] == "pending"
    r = admin.post(f"/api/designer/submissions/{submission['id']}/approve", json={})
    assert r.status_code == 200, r.text
    return r.json()
