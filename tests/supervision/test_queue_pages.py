"""Case lists are paged by cursor: every item once, in order (the supervision queue by deadline, ties by id;
disputes and notices newest first)."""

from __future__ import annotations

from typing import Any

from app.runtime import Runtime
from tests.api.test_statement_counts import _grow, _seeds


def test_cursor_pages_list_every_item_once_in_order(rt: Runtime, as_user: Any) -> None:
    seeds = _seeds(rt, as_user)
    with rt.db.engine.begin() as conn:
        for k in range(9):  # ten items due at the same instant: only the id orders them
            _grow(conn, seeds, k)
    supervisor = as_user("gov_supervisor")
    everything = supervisor.get("/api/supervision/items").json()
    seen: list[int] = []
    cursor = None
    while True:
        r = supervisor.get("/api/supervision/items", params={"limit": 3, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        page = r.json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [i["id"] for i in everything["items"]] and len(seen) == 10 == len(set(seen))
    assert seen == sorted(seen)
    assert everything["next_cursor"] is None


def _walk(client: Any, url: str, **params: Any) -> list[int]:
    seen: list[int] = []
    cursor = None
    while True:
        r = client.get(url, params={"limit": 4, **params, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        seen += [i["id"] for i in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return seen


def test_dispute_and_notice_lists_page_newest_first_by_cursor(rt: Runtime, as_user: Any) -> None:
    seeds = _seeds(rt, as_user)
    with rt.db.engine.begin() as conn:
        for k in range(9):
            _grow(conn, seeds, k)
    for user, url, params in (("rst_clerk", "/api/disputes", {}), ("gat_reviewer", "/api/disputes", {}),
                              ("data_reviewer", "/api/disputes", {}),
                              ("data_reviewer", "/api/rectification-notices", {"status": "open"}),
                              ("rst_clerk", "/api/rectification-notices", {})):
        client = as_user(user)
        everything = client.get(url, params=params).json()
        assert everything["next_cursor"] is None and everything["count"] == 10
        walked = _walk(client, url, **params)
        assert walked == [i["id"] for i in everything["items"]] == sorted(set(walked), reverse=True), (user, url)
    r = as_user("rst_clerk").get("/api/disputes", params={"cursor": "WyJ4Il0"})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "cursor_invalid"
