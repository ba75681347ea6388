"""Level catalogs (Art. 8): filters by level, region, department, category, share type, paging; sharing only published."""

from tests.api.helpers import share_request_body
from tests.catalog.helpers import add, new_draft, review, submit


def _codes(client, **params) -> list[str]:  # type: ignore[no-untyped-def]
    r = client.get("/api/catalog/entries", params=params)
    assert r.status_code == 200, r.text
    return [e["code"] for e in r.json()]


def test_level_region_department_category_and_share_type_filters(client, as_user) -> None:
    c = as_user("rst_clerk")
    assert _codes(c, level="province") == ["410000-gat-0001", "410000-gat-0002", "410000-scjg-0001"]
    assert _codes(c, level="city") == ["410100-gaj-0001"]
    # A city region covers its own departments and its counties'.
    zm = as_user("zm_clerk")
    vid = new_draft(zm)["id"]
    add(zm, vid, code="410122-rsj-0001", name="中牟县社保参保信息", category="部门信息资源/社保",
        items=[{"name": "参保人姓名", "type": "字符型"}, {"name": "参保状态", "type": "字符型"}])
    submit(zm, vid)
    review(as_user("zz_data_reviewer"), vid, {"410122-rsj-0001": "approve"})
    assert _codes(c, region_code="410100") == ["410100-gaj-0001", "410122-rsj-0001"]
    assert _codes(c, level="county") == ["410122-rsj-0001"]
    assert _codes(c, level="city", region_code="410100") == ["410100-gaj-0001"]
    assert _codes(c, region_code="410000") == _codes(c)  # the province sees every level
    assert _codes(c, department_code="410000-scjg") == ["410000-scjg-0001"]
    assert _codes(c, category="基础信息资源") == ["410000-gat-0001", "410000-scjg-0001"]
    assert _codes(c, category="基础信息资源/法人") == ["410000-scjg-0001"]
    assert _codes(c, category="基础") == []  # a category, not a prefix of its name
    assert _codes(c, share_type="unconditional", level="province") == ["410000-scjg-0001"]
    assert _codes(c, q="户籍") == ["410000-gat-0001"]
    summary = {(s["level"], s["region_code"]): s for s in c.get("/api/catalog/levels").json()}
    assert summary[("province", "410000")]["entries"] == 3 and summary[("province", "410000")]["departments"] == 2
    assert summary[("county", "410122")]["entries"] == 1


def test_pages_of_the_catalog_with_a_total(client, as_user) -> None:
    c = as_user("rst_clerk")
    r = c.get("/api/catalog/entries", params={"page": 1, "page_size": 2})
    assert r.headers["X-Total-Count"] == "4"
    assert [e["code"] for e in r.json()] == ["410000-gat-0001", "410000-gat-0002"]
    r = c.get("/api/catalog/entries", params={"page": 2, "page_size": 2})
    assert [e["code"] for e in r.json()] == ["410000-scjg-0001", "410100-gaj-0001"]
    assert c.get("/api/catalog/entries", params={"page": 3, "page_size": 2}).json() == []
    for bad in ({"page": 0}, {"page_size": 5000}, {"level": "village"}, {"share_type": "maybe"}):
        r = c.get("/api/catalog/entries", params=bad)
        assert r.status_code == 422 and r.json()["detail"]["code"] == "invalid_input", bad


def test_share_requests_target_only_published_entries(client, as_user) -> None:
    # A withdrawn entry is refused with a clear code.
    clerk = as_user("scjg_clerk")
    vid = new_draft(clerk)["id"]
    assert clerk.post(f"/api/catalog/versions/{vid}/entries/410000-scjg-0001/withdraw").status_code == 200
    add(clerk, vid, code="410000-scjg-0100", name="食品生产许可信息",
        items=[{"name": "许可证编号", "type": "字符型"}, {"name": "生产者名称", "type": "字符型"}])
    submit(clerk, vid)
    requester = as_user("rst_clerk")
    # While under review: still published, the addition does not exist yet.
    r = requester.post("/api/share-requests", json=share_request_body(
        "410000-scjg-0100", items=["许可证编号"]))
    assert r.status_code == 422 and r.json()["detail"]["code"] == "entry_not_found"
    review(as_user("data_reviewer"), vid, {"410000-scjg-0001": "approve", "410000-scjg-0100": "approve"})
    assert requester.get("/api/catalog/entries/410000-scjg-0001").json()["status"] == "withdrawn"
    r = requester.post("/api/share-requests", json=share_request_body("410000-scjg-0001"))
    assert r.status_code == 422
    assert r.json()["detail"]["code"] == "entry_not_published"
    assert "市场主体登记信息" in r.json()["detail"]["message"]
    # Published by the review: now it can be requested (unconditional: granted at once).
    r = requester.post("/api/share-requests", json=share_request_body("410000-scjg-0100", items=["许可证编号"]))
    assert r.status_code == 201 and r.json()["status"] == "granted"
    # Withdrawn entries leave the level catalog.
    assert "410000-scjg-0001" not in _codes(requester)
