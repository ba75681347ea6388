"""Small factories for open-list tests."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

HOUSEHOLD = "410000-gat-0001"   # 居民户籍信息, 省公安厅
CRIMINAL = "410000-gat-0002"    # 刑事案件侦查信息, 省公安厅
MARKET = "410000-scjg-0001"     # 市场主体登记信息, 省市场监管局
YEAR = 2027


def conditional_item(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "entry_code": HOUSEHOLD, "data_domain": "公共安全", "data_items": ["姓名", "出生日期"],
        "data_format": "CSV", "open_type": "conditional",
        "open_conditions": "仅向经认证的科研机构提供脱敏后的统计数据",
        "basis": "《中华人民共和国个人信息保护法》第十三条", "update_frequency": "每月",
    }
    body.update(over)
    return body


def not_open_item(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "entry_code": CRIMINAL, "data_domain": "公共安全", "open_type": "not_open",
        "basis": "《中华人民共和国刑事诉讼法》第一百五十二条；国家有关保密规定",
    }
    body.update(over)
    return body


def new_list(clerk: TestClient, year: int = YEAR) -> dict[str, Any]:
    r = clerk.post("/api/open-lists", json={"year": year})
    assert r.status_code == 201, r.text
    return r.json()


def add(clerk: TestClient, list_id: int, body: dict[str, Any]) -> dict[str, Any]:
    r = clerk.post(f"/api/open-lists/{list_id}/items", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def drafted(clerk: TestClient, year: int = YEAR) -> dict[str, Any]:
    """A 省公安厅 list with a conditional and a not-open item."""
    created = new_list(clerk, year)
    add(clerk, created["id"], conditional_item())
    add(clerk, created["id"], not_open_item())
    return created


def submitted(clerk: TestClient, year: int = YEAR) -> dict[str, Any]:
    created = drafted(clerk, year)
    r = clerk.post(f"/api/open-lists/{created['id']}/submit", json={"note": "2027年度开放重点"})
    assert r.status_code == 200, r.text
    return r.json()


def review(reviewer: TestClient, list_id: int, decision: str, **over: Any) -> dict[str, Any]:
    r = reviewer.post(f"/api/open-lists/{list_id}/review", json={"decision": decision, **over})
    assert r.status_code == 200, r.text
    return r.json()
