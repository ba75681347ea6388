"""The console's filters, order and paging; bad filter values are refused in Chinese (422), never a 500."""

import re
from typing import Any

import pytest

from app.core.clock import clock
from tests.authority.helpers import cases, keys, login, province_dispute, province_notice, zz_dispute, zz_notice
from tests.rectification.helpers import at

CJK = re.compile(r"[\u4e00-\u9fff]")


def _setup(as_user):  # type: ignore[no-untyped-def]
    """Four open cases over two days and one withdrawn notice."""
    p, d = province_notice(as_user), province_dispute(as_user)
    clock.freeze(at(2026, 11, 3, 10, 0))
    z, zd = zz_notice(as_user), zz_dispute(as_user)
    w = province_notice(as_user)
    r = as_user("data_reviewer").post(f"/api/rectification-notices/{w['id']}/withdraw",
                                      json={"reason": "事实认定有误，撤回重发"})
    assert r.status_code == 200, r.text
    return p, d, z, zd, w


def test_filters_by_kind_state_region_and_level(as_user) -> None:
    p, d, z, zd, w = _setup(as_user)
    authority = as_user("data_reviewer")

    def n(notice: dict[str, Any]) -> tuple[str, int]:
        return ("rectification_notice", notice["id"])

    def s(dispute: dict[str, Any]) -> tuple[str, int]:
        return ("dispute", dispute["id"])

    assert set(keys(cases(authority))) == {n(p), s(d), n(z), s(zd)}
    assert set(keys(cases(authority, kind="dispute"))) == {s(d), s(zd)}
    assert set(keys(cases(authority, kind="rectification_notice"))) == {n(p), n(z)}
    closed = cases(authority, state="closed")
    assert keys(closed) == [n(w)]
    [withdrawn] = closed["items"]
    assert withdrawn["open"] is False and withdrawn["status_label"] == "已撤回"
    assert withdrawn["next_due_at"] is None and withdrawn["deadline_label"] is None and withdrawn["overdue"] is False
    assert withdrawn["print_url"] == f"/rectification-notices/{w['id']}/print"
    assert cases(authority, state="all")["total"] == 5
    # Empty values are "any", as the page's form sends them.
    assert cases(authority, kind="", state="", overdue="", region="", level="", sort="")["total"] == 4

    city = cases(authority, region="410100")
    assert set(keys(city)) == {n(z), s(zd)}
    assert city["summary"]["open_disputes"] == 1 and city["summary"]["open_notices"] == 1
    assert set(keys(cases(authority, level="city"))) == {n(z), s(zd)}
    assert set(keys(cases(authority, level="province"))) == {n(p), s(d)}
    assert cases(authority, level="county")["items"] == []
    assert cases(authority, region="410100", level="province")["items"] == []
    # The city sees no level above its own, and its own region is allowed.
    assert cases(as_user("zz_data_reviewer"), level="province")["items"] == []
    assert cases(as_user("zz_data_reviewer"), region="410100")["total"] == 2
    # Kind and state narrow the list, not the counts of the area.
    assert cases(authority, kind="dispute")["summary"] == cases(authority)["summary"]
    # An administrator sees the whole province.
    assert set(keys(cases(as_user("demo_admin"), state="all"))) == {n(p), s(d), n(z), s(zd), n(w)}


def test_sorting_and_paging(as_user) -> None:
    p, d, z, zd, _ = _setup(as_user)
    authority = as_user("data_reviewer")
    # p and d were opened on 11-02, z and zd on 11-03 (cases opened at one instant follow kind, then id).
    newest = keys(cases(authority, sort="-opened_at"))
    assert newest == [("dispute", zd["id"]), ("rectification_notice", z["id"]),
                      ("dispute", d["id"]), ("rectification_notice", p["id"])]
    assert keys(cases(authority, sort="opened_at")) == [("dispute", d["id"]), ("rectification_notice", p["id"]),
                                                        ("dispute", zd["id"]), ("rectification_notice", z["id"])]

    everything = keys(cases(authority))
    first, second = cases(authority, limit=3), cases(authority, limit=3, offset=3)
    assert first["total"] == second["total"] == 4 and (first["limit"], second["offset"]) == (3, 3)
    assert keys(first) + keys(second) == everything
    assert cases(authority, offset=10)["items"] == [] and cases(authority, offset=10)["total"] == 4


def _walk(authority: Any, **params: Any) -> list[tuple[str, int]]:
    """Follow next_cursor one case at a time to the end."""
    seen: list[tuple[str, int]] = []
    cursor = None
    while True:
        page = cases(authority, limit=1, **params, **({"cursor": cursor} if cursor else {}))
        seen += keys(page)
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


@pytest.mark.parametrize("sort", ["deadline", "-opened_at", "opened_at"])
def test_cursor_pages_list_every_case_once_in_order(as_user, sort) -> None:
    _setup(as_user)
    authority = as_user("data_reviewer")
    for params in ({"sort": sort}, {"sort": sort, "state": "all"}, {"sort": sort, "kind": "dispute"}):
        everything = cases(authority, **params)
        assert everything["next_cursor"] is None
        walked = _walk(authority, **params)
        assert walked == keys(everything) and len(walked) == len(set(walked)) == everything["total"] > 0


def test_a_forged_console_cursor_is_a_422(as_user) -> None:
    authority = as_user("data_reviewer")
    forged = "WyJub3QtYS1raW5kIl0"  # base64url of ["not-a-kind"]
    for cursor in ("%%%", forged, "W10", "x" * 600):
        r = authority.get("/api/authority/cases", params={"cursor": cursor})
        assert r.status_code == 422, r.text
        assert r.json()["detail"]["code"] == "cursor_invalid"
    r = authority.get("/api/authority/cases", params={"sort": "opened_at", "cursor": cases(
        authority, limit=1)["next_cursor"] or "W10"})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "cursor_invalid"


@pytest.mark.parametrize(("params", "field"), [
    ({"kind": "case"}, "kind"), ({"state": "pending"}, "state"), ({"overdue": "maybe"}, "overdue"),
    ({"level": "village"}, "level"), ({"region": "999999"}, "region"), ({"region": "4" * 300}, "region"),
    ({"sort": "due_at"}, "sort"), ({"limit": "0"}, "limit"), ({"limit": "201"}, "limit"),
    ({"limit": "abc"}, "limit"), ({"offset": "-1"}, "offset"), ({"offset": "1.5"}, "offset"),
])
def test_bad_filter_values_are_422_in_chinese(as_user, params, field) -> None:
    r = as_user("data_reviewer").get("/api/authority/cases", params=params)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail["code"] in ("authority_filter_invalid", "invalid_input")
    assert CJK.search(detail["message"]) and field in [e["field"] for e in detail["errors"]]


def test_several_bad_filters_are_named_together(as_user) -> None:
    r = as_user("data_reviewer").get("/api/authority/cases", params={"kind": "x", "level": "y"})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert [e["field"] for e in detail["errors"]] == ["kind", "level"]
    assert detail["message"].startswith("筛选条件有误：案件类型必须是")


def test_a_bad_filter_on_the_page_is_a_readable_422(client) -> None:
    page = login(client.app, "data_reviewer")
    r = page.get("/authority", params={"kind": "case", "overdue": "maybe"})
    assert r.status_code == 422 and "案件类型必须是" in r.text and "authority_filter_invalid" in r.text
    assert "“只看已超期”必须是" in r.text
    r = page.get("/authority", params={"offset": "abc"})
    assert r.status_code == 422 and "必须是整数" in r.text
