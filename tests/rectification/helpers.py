"""Small factories for the rectification tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient

from app.core.clock import SHANGHAI

RST = "410000-rst"  # 河南省人力资源和社会保障厅: clerk rst_clerk
PDF = b"%PDF-1.4\n% rectification report\n"


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


def day(iso: str | None) -> str:
    """Return the Asia/Shanghai date of an ISO instant."""
    assert iso is not None
    return datetime.fromisoformat(iso).astimezone(SHANGHAI).date().isoformat()


def notice_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "department_code": RST, "article_item": 1,
        "facts": "截至2026年10月31日，你单位未按要求编制并发布本部门2026年度政务数据共享目录。",
        "requirements": "编制本部门政务数据共享目录，经本级主管部门审定后发布，并报送整改情况。",
        "deadline_working_days": 10,
    }
    body.update(over)
    return body


def issue(authority: TestClient, **over: Any) -> dict[str, Any]:
    r = authority.post("/api/rectification-notices", json=notice_body(**over))
    assert r.status_code == 201, r.text
    return r.json()


def upload(client: TestClient, notice_id: int, name: str = "整改报告.pdf") -> int:
    r = client.post("/api/attachments", data={"owner_type": "rectification_notice", "owner_id": str(notice_id)},
                    files={"file": (name, PDF, "application/pdf")})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def report(clerk: TestClient, notice_id: int, text: str = "已编制共享目录并提交审定，现报告整改情况。",
           attachment_ids: list[int] | None = None) -> dict[str, Any]:
    r = clerk.post(f"/api/rectification-notices/{notice_id}/report",
                   json={"report": text, "attachment_ids": attachment_ids or []})
    assert r.status_code == 200, r.text
    return r.json()


def verify(authority: TestClient, notice_id: int, decision: str = "accept", **over: Any) -> dict[str, Any]:
    r = authority.post(f"/api/rectification-notices/{notice_id}/verification", json={"decision": decision, **over})
    assert r.status_code == 200, r.text
    return r.json()


def actions(notice: dict[str, Any]) -> list[str]:
    return [h["action"] for h in notice["history"]]
