"""Found by fuzzing: rectification requests that were 500s are a 422 and change nothing."""

import pytest

from tests.rectification.helpers import notice_body

BIG = 2**63  # one past the largest 64-bit integer


def _refused(r, code: str) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["code"] == code
    assert r.json()["detail"]["message"]


@pytest.mark.parametrize("user, method, path, body", [
    ("rst_clerk", "GET", "/api/rectification-notices/{}", None),
    ("rst_clerk", "POST", "/api/rectification-notices/{}/report", {"report": "已整改完毕，现报告整改情况。"}),
    ("rst_clerk", "POST", "/api/rectification-notices/{}/exemption-claim",
     {"ground": "force_majeure", "explanation": "不可抗力"}),
    ("data_reviewer", "POST", "/api/rectification-notices/{}/verification", {"decision": "accept"}),
    ("data_reviewer", "POST", "/api/rectification-notices/{}/exemption-decision", {"decision": "grant"}),
    ("data_reviewer", "POST", "/api/rectification-notices/{}/withdraw", {"reason": "误发"}),
])
def test_huge_notice_id(client, as_user, user, method, path, body) -> None:
    _refused(as_user(user).request(method, path.format(BIG), json=body), "number_out_of_range")


@pytest.mark.parametrize("over", [{"facts": "未按要求\x00编制目录"}, {"department_code": "410000-rst\x00"}])
def test_nul_in_a_notice_issues_nothing(client, as_user, over) -> None:
    authority = as_user("data_reviewer")
    _refused(authority.post("/api/rectification-notices", json=notice_body(**over)), "nul_character")
    assert authority.get("/api/rectification-notices").json()["count"] == 0
