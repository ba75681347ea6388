"""Bad input is a 4xx with a stable code and a Chinese message, never a 500."""

import pytest

from tests.open_data.helpers import CRIMINAL, HOUSEHOLD, YEAR, add, conditional_item, drafted, new_list, \
    not_open_item, submitted


def _code(r) -> str:  # type: ignore[no-untyped-def]
    return r.json()["detail"]["code"]


@pytest.mark.parametrize("body, status, code", [
    ({"year": 1999}, 422, "year_out_of_range"),
    ({"year": 2029}, 422, "year_out_of_range"),
    ({"year": "明年"}, 422, "invalid_input"),
    ({}, 422, "invalid_input"),
    ({"year": YEAR, "note": "长" * 2001}, 422, "invalid_input"),
])
def test_bad_list(client, as_user, body, status, code) -> None:
    r = as_user("gat_clerk").post("/api/open-lists", json=body)
    assert (r.status_code, _code(r)) == (status, code), r.text
    assert r.json()["detail"]["message"]


def test_only_clerks_draft_and_one_list_per_year_at_a_time(client, as_user) -> None:
    r = as_user("gat_reviewer").post("/api/open-lists", json={"year": YEAR})
    assert (r.status_code, _code(r)) == (403, "clerk_required")
    clerk = as_user("gat_clerk")
    created = new_list(clerk)
    r = clerk.post("/api/open-lists", json={"year": YEAR})
    assert (r.status_code, _code(r)) == (409, "open_list_in_progress")
    assert r.json()["detail"]["open_list_id"] == created["id"]
    assert new_list(clerk, YEAR - 1)["year"] == YEAR - 1  # another year is another list


@pytest.mark.parametrize("over, status, code", [
    ({"open_type": "public"}, 422, "invalid_input"),
    ({"open_type": None}, 422, "invalid_input"),
    ({"data_domain": " "}, 422, "invalid_input"),
    ({"open_conditions": None}, 422, "open_conditions_required"),
    ({"basis": ""}, 422, "open_basis_required"),
    ({"data_items": ["姓名", "婚姻状况"]}, 422, "items_not_in_entry"),
    ({"data_items": []}, 422, "invalid_input"),
    ({"data_items": ["姓名", "姓名"]}, 422, "invalid_input"),
    ({"data_items": "姓名"}, 422, "invalid_input"),
    ({"update_frequency": "每十年"}, 422, "invalid_input"),
    ({"entry_code": "410000-gat-9999"}, 422, "entry_not_found"),
    ({"entry_code": ""}, 422, "invalid_input"),
])
def test_bad_item(client, as_user, over, status, code) -> None:
    clerk = as_user("gat_clerk")
    created = new_list(clerk)
    r = clerk.post(f"/api/open-lists/{created['id']}/items", json=conditional_item(**over))
    assert (r.status_code, _code(r)) == (status, code), r.text


def test_not_open_needs_a_basis_and_the_message_cites_art_20(client, as_user) -> None:
    clerk = as_user("gat_clerk")
    created = new_list(clerk)
    r = clerk.post(f"/api/open-lists/{created['id']}/items", json=not_open_item(basis=None))
    assert (r.status_code, _code(r)) == (422, "open_basis_required")
    assert "第二十条" in r.json()["detail"]["message"]
    assert r.json()["detail"]["errors"][0]["field"] == "basis"


def test_item_conflicts_and_unknowns(client, as_user) -> None:
    clerk = as_user("gat_clerk")
    created = drafted(clerk)
    list_id = created["id"]
    r = clerk.post(f"/api/open-lists/{list_id}/items", json=conditional_item())
    assert (r.status_code, _code(r)) == (409, "entry_already_listed")
    r = clerk.put(f"/api/open-lists/{list_id}/items/410000-gat-9999", json=conditional_item())
    assert (r.status_code, _code(r)) == (404, "open_list_item_not_found")
    r = clerk.put(f"/api/open-lists/{list_id}/items/{CRIMINAL}", json=not_open_item(open_type="conditional"))
    assert (r.status_code, _code(r)) == (422, "open_conditions_required")
    assert clerk.get("/api/open-lists/424242").status_code == 404
    r = clerk.post(f"/api/open-lists/{list_id}/items", content=b"{not json", headers={"Content-Type": "application/json"})
    assert (r.status_code, _code(r)) == (400, "malformed_json")


def test_bad_reviews(client, as_user) -> None:
    clerk = as_user("gat_clerk")
    draft = drafted(clerk, YEAR - 1)
    reviewer = as_user("data_reviewer")
    r = reviewer.post(f"/api/open-lists/{draft['id']}/review", json={"decision": "approve"})
    assert (r.status_code, _code(r)) == (409, "open_list_not_under_review")
    created = submitted(clerk)
    list_id = created["id"]
    for body, code in (({"decision": "return"}, "review_comment_required"),
                       ({"decision": "return", "item_comments": {HOUSEHOLD: "  "}}, "review_comment_required"),
                       ({"decision": "return", "item_comments": {"410000-scjg-0001": "不在清单中"}},
                        "item_comments_invalid"),
                       ({"decision": "maybe"}, "invalid_input"),
                       ({"decision": "return", "item_comments": {HOUSEHOLD: 5}}, "invalid_input"),
                       ({"decision": "return", "item_comments": ["x"]}, "invalid_input")):
        r = reviewer.post(f"/api/open-lists/{list_id}/review", json=body)
        assert (r.status_code, _code(r)) == (422, code), (body, r.text)
    # Nothing was recorded by the refused attempts.
    detail = clerk.get(f"/api/open-lists/{list_id}").json()
    assert detail["status"] == "under_review" and detail["reviews"] == []
    r = clerk.post(f"/api/open-lists/{list_id}/submit")
    assert (r.status_code, _code(r)) == (409, "open_list_not_editable")


def test_resubmitting_an_emptied_list_is_refused(client, as_user) -> None:
    clerk = as_user("gat_clerk")
    created = new_list(clerk)
    add(clerk, created["id"], not_open_item())
    assert clerk.post(f"/api/open-lists/{created['id']}/submit").status_code == 200
    r = as_user("data_reviewer").post(f"/api/open-lists/{created['id']}/review",
                                      json={"decision": "return", "comment": "不予开放的依据需逐条核实"})
    assert r.status_code == 200
    assert clerk.delete(f"/api/open-lists/{created['id']}/items/{CRIMINAL}").status_code == 204
    r = clerk.post(f"/api/open-lists/{created['id']}/submit")
    assert (r.status_code, _code(r)) == (422, "open_list_empty")
    assert clerk.get(f"/api/open-lists/{created['id']}").json()["status"] == "returned"


def test_public_api_refuses_bad_filters(client) -> None:
    assert client.get("/api/open-data/lists", params={"year": "x"}).status_code == 422
    assert client.get("/api/open-data/restricted", params={"open_type": "unconditional"}).status_code == 422
    assert client.get("/api/open-data/lists/1").status_code == 404
    assert client.get("/api/open-data/lists/abc").status_code == 422
