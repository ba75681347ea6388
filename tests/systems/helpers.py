"""Small factories for the new business system tests (Art. 7)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

GAT_0001 = "410000-gat-0001"  # 居民户籍信息: 姓名 公民身份号码 户籍地址 出生日期
NEW_ENTRY = "410000-gat-0100"  # 出入境证件信息 (tests.catalog.helpers.entry_body): 证件号码 签发日期

SYSTEM = {
    "name": "出入境证件签发系统", "purpose": "受理和签发出入境证件，核验申请人身份。",
    "data_items": [{"name": "姓名", "entry_code": GAT_0001}, {"name": "证件号码"}, {"name": "签发日期"}],
    "contact_name": "王芳", "contact_phone": "0371-65550000",
}
APPROVAL = {"approval_number": "豫发改审批〔2026〕12号", "approval_date": "2026-11-02",
            "approving_body": "河南省发展和改革委员会"}


def register(clerk: TestClient, **over: Any) -> dict[str, Any]:
    r = clerk.post("/api/systems", json={**SYSTEM, **over})
    assert r.status_code == 201, r.text
    return r.json()


def approve(clerk: TestClient, system_id: int, **over: Any):  # type: ignore[no-untyped-def]
    return clerk.post(f"/api/systems/{system_id}/approval", json={**APPROVAL, **over})
