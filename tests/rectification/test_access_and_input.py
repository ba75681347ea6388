"""Who may read and act on a notice, and bad input refused with Chinese messages and stable codes."""

from pathlib import Path

import pytest

from app.rectification.models import ART29_ITEMS
from tests.rectification.helpers import issue, notice_body, report, upload

REGULATION = Path("/work/shared/regulation/henan-government-data-measures-draft.zh.txt")


def test_the_six_items_are_quoted_from_the_regulation(as_user) -> None:
    numerals = "一二三四五六"
    if REGULATION.exists():
        text = REGULATION.read_text(encoding="utf-8")
        for n, item in ART29_ITEMS.items():
            assert f"（{numerals[n - 1]}）{item}" in text
    listed = as_user("rst_clerk").get("/api/rectification/article-29-items").json()
    assert [i["label"] for i in listed["items"]] == [f"第二十九条第（{c}）项" for c in numerals]
    assert [g["ground"] for g in listed["exemption_grounds"]] == ["duties_performed", "due_care", "force_majeure"]


def test_a_party_reading_a_notice_that_is_not_theirs_is_refused(as_user) -> None:
    notice = issue(as_user("data_reviewer"))
    url = f"/api/rectification-notices/{notice['id']}"
    assert as_user("rst_clerk").get(url).status_code == 200  # the notified department
    for username in ("scjg_clerk", "gat_reviewer", "zz_clerk", "zz_data_reviewer", "zz_supervisor"):
        r = as_user(username).get(url)
        assert r.status_code == 404, username
        assert r.json()["detail"] == {"code": "rectification_notice_not_found", "message": "整改通知不存在",
                                      "request_id": r.headers["X-Request-ID"]}
    assert as_user("scjg_clerk").get("/api/rectification-notices").json()["items"] == []
    assert as_user("rst_clerk").get("/api/rectification-notices").json()["count"] == 1
    assert as_user("rst_clerk").get("/api/rectification-notices/99999").json()["detail"]["code"] == \
        "rectification_notice_not_found"


def test_attachments_belong_to_the_two_parties(as_user) -> None:
    notice = issue(as_user("data_reviewer"))
    clerk, other = as_user("rst_clerk"), as_user("scjg_clerk")
    file_id = upload(clerk, notice["id"])
    assert other.get(f"/api/attachments/{file_id}").status_code == 404
    r = other.post("/api/attachments", data={"owner_type": "rectification_notice", "owner_id": str(notice["id"])},
                   files={"file": ("x.pdf", b"%PDF-1.4\n", "application/pdf")})
    assert r.status_code == 404 and r.json()["detail"]["code"] == "attachment_owner_not_found"
    assert as_user("gov_supervisor").get(f"/api/attachments/{file_id}").status_code == 404
    # A report cannot carry another notice's file, nor one the authority uploaded.
    second = issue(as_user("data_reviewer"))
    foreign = upload(clerk, second["id"])
    theirs = upload(as_user("data_reviewer"), notice["id"])
    for bad in (foreign, theirs, 424242):
        r = clerk.post(f"/api/rectification-notices/{notice['id']}/report",
                       json={"report": "已整改", "attachment_ids": [bad]})
        assert r.status_code == 422 and r.json()["detail"]["code"] == "attachment_not_of_notice", bad


@pytest.mark.parametrize(("over", "code", "message"), [
    ({"article_item": 7}, "article_item_unknown", "违反情形必须是第二十九条第（一）至（六）项之一"),
    ({"article_item": 0}, "article_item_unknown", "违反情形必须是第二十九条第（一）至（六）项之一"),
    ({"article_item": None}, "article_item_unknown", "违反情形必须是第二十九条第（一）至（六）项之一"),
    ({"deadline_working_days": 0}, "deadline_invalid", "整改期限至少为1个工作日"),
    ({"deadline_working_days": -3}, "deadline_invalid", "整改期限至少为1个工作日"),
    ({"deadline_working_days": 121}, "deadline_invalid", "整改期限不能超过120个工作日"),
    ({"facts": ""}, "facts_required", "请写明违反规定的事实"),
    ({"facts": "   "}, "facts_required", "请写明违反规定的事实"),
    ({"requirements": ""}, "requirements_required", "请写明整改要求"),
    ({"department_code": "410000-nope"}, "department_not_found", "政务部门“410000-nope”不存在"),
    ({"department_code": "410000-gov"}, "department_not_notifiable", "河南省人民政府办公厅（督查室）不是政务部门，不能作为整改对象"),
    ({"department_code": "410100-rsj"}, "department_not_same_level",
     "郑州市人力资源和社会保障局不属于本级，只能向本级政务部门发出整改通知"),
])
def test_bad_notice_is_refused(as_user, over, code, message) -> None:
    r = as_user("data_reviewer").post("/api/rectification-notices", json=notice_body(**over))
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["code"] == code
    assert r.json()["detail"]["message"] == message


def test_bad_types_and_oversize_text_are_422_not_500(as_user) -> None:
    authority = as_user("data_reviewer")
    for body in (notice_body(article_item="三"), notice_body(deadline_working_days="ten"),
                 notice_body(facts="事" * 5001), [1, 2]):
        r = authority.post("/api/rectification-notices", json=body)
        assert r.status_code == 422 and r.json()["detail"]["code"] == "invalid_input", body
    r = authority.post("/api/rectification-notices", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["detail"]["code"] == "malformed_json"


def test_only_an_authority_reviewer_issues(as_user) -> None:
    for username in ("rst_clerk", "gov_supervisor", "designer"):
        r = as_user(username).post("/api/rectification-notices", json=notice_body())
        assert r.status_code == 403 and r.json()["detail"]["code"] == "authority_reviewer_required", username


def test_each_step_belongs_to_its_party_and_its_turn(as_user) -> None:
    notice = issue(as_user("data_reviewer"))
    nid = notice["id"]
    authority, clerk = as_user("data_reviewer"), as_user("rst_clerk")
    r = authority.post(f"/api/rectification-notices/{nid}/report", json={"report": "代为报告"})
    assert r.status_code == 403 and r.json()["detail"]["code"] == "rectification_step_not_yours"
    r = clerk.post(f"/api/rectification-notices/{nid}/verification", json={"decision": "accept"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "not_awaiting_verification"
    r = clerk.post(f"/api/rectification-notices/{nid}/report", json={"report": ""})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "report_required"
    assert r.json()["detail"]["message"] == "请填写整改情况报告"
    r = clerk.post(f"/api/rectification-notices/{nid}/exemption-claim", json={"ground": "busy", "explanation": "忙"})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "exemption_ground_required"
    assert {e["code"] for e in r.json()["detail"]["errors"]} == {"exemption_ground_required",
                                                                   "exemption_explanation_required"}
    report(clerk, nid)
    r = clerk.post(f"/api/rectification-notices/{nid}/verification", json={"decision": "accept"})
    assert r.status_code == 403 and r.json()["detail"]["code"] == "rectification_step_not_yours"
    r = authority.post(f"/api/rectification-notices/{nid}/verification", json={"decision": "maybe"})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "decision_invalid"
    r = clerk.post(f"/api/rectification-notices/{nid}/report", json={"report": "再报一次"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "not_awaiting_rectification"
    # Another city's authority reviewer cannot verify the province's notice.
    r = as_user("zz_data_reviewer").post(f"/api/rectification-notices/{nid}/verification", json={"decision": "accept"})
    assert r.status_code == 404  # the province's notice is out of its sight
