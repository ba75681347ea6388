"""The supervision queue is paged by cursor: every item once, in deadline order, ties broken by id."""

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
