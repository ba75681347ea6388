"""Small factories for catalog tests."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def entry_body(code: str = "410000-gat-0100", **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code, "name": "出入境证件信息", "summary": "出入境证件办理信息，用于身份核验。",
        "category": "部门信息资源/公安", "format": "数据库", "share_type": "unconditional",
        "share_methods": ["api"], "update_cycle": "每日",
        "items": [{"name": "证件号码", "type": "字符型", "length": 32}, {"name": "签发日期", "type": "日期型"}],
    }
    body.update(over)
    return body


def new_draft(clerk: TestClient) -> dict[str, Any]:
    r = clerk.post("/api/catalog/versions")
    assert r.status_code == 201, r.text
    return r.json()


def add(clerk: TestClient, version_id: int, **over: Any) -> dict[str, Any]:
    r = clerk.post(f"/api/catalog/versions/{version_id}/entries", json=entry_body(**over))
    assert r.status_code == 201, r.text
    return r.json()


def submit(clerk: TestClient, version_id: int, note: str | None = None) -> dict[str, Any]:
    r = clerk.post(f"/api/catalog/versions/{version_id}/submit", json={"note": note} if note else None)
    assert r.status_code == 200, r.text
    return r.json()


def review(authority: TestClient, version_id: int, decisions: dict[str, Any], comment: str | None = None
           ) -> dict[str, Any]:
    body = {"decisions": [{"code": c, **(d if isinstance(d, dict) else {"decision": d})}
                          for c, d in decisions.items()], "comment": comment}
    r = authority.post(f"/api/catalog/versions/{version_id}/review", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def entry_row(version: dict[str, Any], code: str) -> dict[str, Any]:
    rows = [e for e in version["entries"] if e["code"] == code]
    assert len(rows) == 1, [e["code"] for e in version["entries"]]
    return rows[0]
