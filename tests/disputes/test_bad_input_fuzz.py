"""Found by fuzzing: dispute requests that were 500s are a 422 and change nothing."""

import pytest

from tests.disputes.helpers import NOT_SHARE, refused_request

BIG = 2**63  # one past the largest 64-bit integer


def _refused(r, code: str) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["code"] == code
    assert r.json()["detail"]["message"]


@pytest.mark.parametrize("user, method, path, body", [
    ("rst_clerk", "GET", "/api/disputes/{}", None),
    ("gat_reviewer", "POST", "/api/disputes/{}/provider-position", NOT_SHARE),
    ("rst_clerk", "POST", "/api/disputes/{}/requester-reply", {"response": "accept", "position": "同意"}),
    ("data_reviewer", "POST", "/api/disputes/{}/statements", {"statement": "陈述意见"}),
    ("data_reviewer", "POST", "/api/disputes/{}/meetings",
     {"held_on": "2026-10-30", "participants": "双方", "minutes": "纪要"}),
    ("data_reviewer", "POST", "/api/disputes/{}/decision",
     {"decision": "share", "items": ["姓名"], "terms": "限于资格认证", "reasons": "理由"}),
    ("rst_clerk", "POST", "/api/disputes/{}/compliance", {"note": "已执行"}),
])
def test_huge_dispute_id(client, as_user, user, method, path, body) -> None:
    _refused(as_user(user).request(method, path.format(BIG), json=body), "number_out_of_range")


def test_huge_share_request_id_opens_nothing(client, as_user) -> None:
    clerk = as_user("rst_clerk")
    r = clerk.post("/api/disputes", json={"share_request_id": BIG, "duties": "《社会保险法》第七十四条",
                                          "need": "养老金资格认证须核验户籍状态"})
    _refused(r, "number_out_of_range")
    assert clerk.get("/api/disputes").json()["count"] == 0


def test_nul_in_a_statement_of_need_opens_nothing(client, as_user) -> None:
    created = refused_request(as_user)
    clerk = as_user("rst_clerk")
    r = clerk.post("/api/disputes", json={"share_request_id": created["id"], "duties": "《社会保险法》第七十四条",
                                          "need": "养老金资格认证\x00须核验户籍状态"})
    _refused(r, "nul_character")
    assert clerk.get("/api/disputes").json()["count"] == 0
