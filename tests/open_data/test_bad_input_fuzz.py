"""Found by fuzzing: open-list requests that were 500s are a 422 and change nothing."""

import pytest

from tests.open_data.helpers import HOUSEHOLD, YEAR, conditional_item, submitted

BIG = 2**63  # one past the largest 64-bit integer


def _refused(r, code: str) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["code"] == code
    assert r.json()["detail"]["message"]


@pytest.mark.parametrize("method, path, body", [
    ("GET", "/api/open-lists/{}", None), ("POST", "/api/open-lists/{}/discard", None),
    ("POST", "/api/open-lists/{}/submit", {"note": "请审查"}),
    ("POST", "/api/open-lists/{}/items", conditional_item()),
    ("DELETE", "/api/open-lists/{}/items/410000-gat-0001", None), ("GET", "/api/open-data/lists/{}", None),
])
def test_huge_list_id(client, as_user, method, path, body) -> None:
    _refused(as_user("gat_clerk").request(method, path.format(BIG), json=body), "number_out_of_range")


def test_huge_list_id_on_the_public_page(client) -> None:
    r = client.get(f"/open-data/lists/{BIG}")
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html")


def test_nul_in_a_note_creates_no_list(client, as_user) -> None:
    clerk = as_user("gat_clerk")
    _refused(clerk.post("/api/open-lists", json={"year": YEAR, "note": "年度\x00清单"}), "nul_character")
    assert clerk.get("/api/open-lists").json() == []


def test_nul_in_a_review_comment_changes_nothing(client, as_user) -> None:
    # PostgreSQL refused the text where it was written: a 500.
    clerk = as_user("gat_clerk")
    created = submitted(clerk)
    r = as_user("data_reviewer").post(f"/api/open-lists/{created['id']}/review", json={
        "decision": "return", "comment": "请补充", "item_comments": {HOUSEHOLD: "依据\x00不完整"}})
    _refused(r, "nul_character")
    detail = clerk.get(f"/api/open-lists/{created['id']}").json()
    assert detail["status"] == "under_review" and detail["reviews"] == []
