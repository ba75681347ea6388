"""Small factories for dispute tests."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.helpers import CONDITIONAL, NOT_SHARED, review_task, submit


def refused_request(as_user: Any, clerk: str = "rst_clerk", reviewer: str = "gat_reviewer",
                    entry_code: str = CONDITIONAL, **over: Any) -> dict[str, Any]:
    """File a share request and have the provider refuse it (reason and basis)."""
    created = submit(as_user(clerk), entry_code, **over)
    if entry_code == NOT_SHARED:
        assert created["status"] == "refused"
        return created
    rev = as_user(reviewer)
    task = review_task(rev, created["instance_id"])
    r = rev.post(f"/api/tasks/{task['id']}/complete",
                 json={"data": {"decision": "refuse", "reason": "申请用途超出共享条件",
                                "legal_basis": "《户口登记条例》第三条"}})
    assert r.status_code == 200, r.text
    return created


def open_dispute(clerk: TestClient, share_request_id: int, **over: Any) -> dict[str, Any]:
    """Open a dispute with a statement of need; assert it was created."""
    body: dict[str, Any] = {"share_request_id": share_request_id,
                            "duties": "《社会保险法》第七十四条：社会保险经办机构核查参保人员资格",
                            "need": "养老金资格认证须核验户籍状态，无法以其他方式取得"}
    body.update(over)
    r = clerk.post("/api/disputes", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def step(client: TestClient, dispute_id: int, action: str, body: dict[str, Any],
         expect: int = 200) -> dict[str, Any]:
    """Post one step of a dispute and check the status code."""
    r = client.post(f"/api/disputes/{dispute_id}/{action}", json=body)
    assert r.status_code == expect, r.text
    return r.json()  # type: ignore[no-any-return]


NOT_SHARE = {"stance": "not_share", "position": "户籍信息涉及个人隐私，不宜批量提供",
             "basis": "《个人信息保护法》第三十四条"}
OFFER_PART = {"stance": "partial", "offered_items": ["姓名"], "terms": "仅用于资格认证，不得留存",
              "position": "可提供姓名核验"}


def earlier(client: TestClient, url: str, latest: list[dict[str, Any]], cursor: str | None) -> list[dict[str, Any]]:
    """Follow 「更早的记录」 from the latest lines to the first; return every line, oldest first."""
    pages = [latest]
    while cursor is not None:
        r = client.get(url, params={"cursor": cursor})
        assert r.status_code == 200, r.text
        pages.append(r.json()["items"])
        cursor = r.json()["next_cursor"]
    return [line for page in reversed(pages) for line in page]
