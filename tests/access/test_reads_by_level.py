"""Reads follow the regulation's lines (issue 9, hole 3): a department sees its own cases; an authority
sees its level and the levels below it in its area; a supervisor its government's area; a designer
definitions and trial instances, never other people's cases. Out of scope answers 404 (ids reveal nothing)."""

from __future__ import annotations

import pytest

from tests.api.helpers import CONDITIONAL, review_task, submit

PROVINCE_CASE_READERS = ["rst_clerk", "gat_reviewer", "gat_clerk", "gat_head", "data_reviewer",
                         "gov_supervisor", "demo_admin"]
PROVINCE_CASE_OUTSIDERS = ["zz_data_reviewer", "zz_supervisor", "zz_reviewer", "zz_clerk", "zm_clerk",
                           "designer", "scjg_reviewer"]


@pytest.fixture
def province_case(client, as_user):  # type: ignore[no-untyped-def]
    """A provincial share request (省人社厅 → 省公安厅) under review, with its open task."""
    created = submit(as_user("rst_clerk"), CONDITIONAL)
    task = review_task(as_user("gat_reviewer"), created["instance_id"])
    return created, task


@pytest.mark.parametrize("username", PROVINCE_CASE_OUTSIDERS)
def test_a_provincial_case_is_not_found_outside_its_lines(province_case, as_user, username) -> None:
    created, task = province_case
    outsider = as_user(username)
    for path in (f"/api/share-requests/{created['id']}", f"/api/instances/{created['instance_id']}",
                 f"/api/tasks/{task['id']}"):
        r = outsider.get(path)
        assert r.status_code == 404, (path, r.status_code, r.text)
        detail = r.json()["detail"]
        assert detail["code"].endswith("not_found") and "不存在" in detail["message"]
        assert "公民身份号码" not in r.text  # nothing of the case leaks


@pytest.mark.parametrize("username", PROVINCE_CASE_READERS)
def test_a_provincial_case_is_read_along_its_lines(province_case, as_user, username) -> None:
    created, _ = province_case
    reader = as_user(username)
    assert reader.get(f"/api/share-requests/{created['id']}").status_code == 200
    assert reader.get(f"/api/instances/{created['instance_id']}").status_code == 200


def test_an_unknown_id_and_a_hidden_one_answer_alike(province_case, as_user) -> None:
    created, _ = province_case
    outsider = as_user("zz_data_reviewer")
    # The same request id both times: the answers' only per-request field (detail.request_id) then agrees too.
    same_id = {"X-Request-ID": "same-request-id-2"}
    hidden = outsider.get(f"/api/share-requests/{created['id']}", headers=same_id)
    missing = outsider.get("/api/share-requests/999999", headers=same_id)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


def test_a_city_authority_and_supervisor_read_their_citys_cases(client, as_user) -> None:
    """郑州's share request (郑州市人社局 → 郑州市公安局): the city's and the province's overseers read it."""
    body_code = "410100-gaj-0001"
    clerk = as_user("zz_clerk")
    r = clerk.post("/api/share-requests", json={
        "entry_code": body_code, "items": _items(clerk, body_code), "purpose": "居住证核验",
        "scope": "郑州市人社局经办人员", "period_from": "2026-11-01", "period_to": "2027-10-31",
        "method": _method(clerk, body_code), "legal_basis": "《居住证暂行条例》"})
    assert r.status_code == 201, r.text
    created = r.json()
    for username in ("zz_clerk", "zz_reviewer", "zz_data_reviewer", "zz_supervisor", "data_reviewer",
                     "gov_supervisor", "demo_admin"):
        assert as_user(username).get(f"/api/share-requests/{created['id']}").status_code == 200, username
        assert as_user(username).get(f"/api/instances/{created['instance_id']}").status_code == 200, username
    for username in ("zm_clerk", "rst_clerk", "gat_reviewer", "designer"):
        assert as_user(username).get(f"/api/share-requests/{created['id']}").status_code == 404, username
        assert as_user(username).get(f"/api/instances/{created['instance_id']}").status_code == 404, username


def test_a_designer_reads_trial_instances_but_not_cases(province_case, as_user) -> None:
    designer = as_user("designer")
    assert designer.get("/api/processes").status_code == 200
    r = designer.post("/api/processes/catalog_catalog_review/instances",
                      json={"variables": {"authority_department": "410000-data"}})
    assert r.status_code == 201, r.text  # a trial instance: the designer's workbench
    assert designer.get(f"/api/instances/{r.json()['id']}").status_code == 200
    # A trial is no case: a department clerk elsewhere does not see it.
    assert as_user("zz_clerk").get(f"/api/instances/{r.json()['id']}").status_code == 404
    created, _ = province_case
    assert designer.get(f"/api/instances/{created['instance_id']}").status_code == 404


def _items(clerk, code):  # type: ignore[no-untyped-def]
    entry = clerk.get(f"/api/catalog/entries/{code}").json()
    return [i["name"] for i in entry["items"]][:2]


def _method(clerk, code):  # type: ignore[no-untyped-def]
    entry = clerk.get(f"/api/catalog/entries/{code}").json()
    return entry["share_methods"][0]


def test_a_designers_lists_hold_no_case_of_its_department(client, as_user) -> None:
    """The designer works in the province's data authority, which decides disputes and issues notices:
    its lists stay empty all the same (a designer reads no case)."""
    from tests.disputes.helpers import open_dispute, refused_request
    from tests.rectification.helpers import issue

    sr = refused_request(as_user)
    open_dispute(as_user("rst_clerk"), sr["id"])
    issue(as_user("data_reviewer"))
    assert as_user("data_reviewer").get("/api/disputes").json()["items"] != []
    designer = as_user("designer")
    assert designer.get("/api/disputes").json()["items"] == []
    assert designer.get("/api/rectification-notices").json()["items"] == []
    assert designer.get("/api/share-requests").json() == []
    assert designer.get("/api/open-lists").json() == []
    assert designer.get("/api/catalog/versions").json() == []
