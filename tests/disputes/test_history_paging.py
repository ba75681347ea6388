"""Case pages return the latest history lines and file entries; 「更早的记录」 reads the earlier ones (issue 12).

A dispute negotiated over many rounds answers each action with the same number of lines as at round 1;
following the cursors gives every line exactly once; a forged cursor is a 422, never a 500."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from app.audit.service import trail
from tests.disputes.helpers import NOT_SHARE, earlier, open_dispute, refused_request, step

ROUNDS = 10  # 1 + 2 x 10 = 21 entries in the file, some 60 history lines: more than a page of each


def test_a_late_round_answers_as_much_as_round_one_and_earlier_pages_give_every_line_once(client, as_user, rt
                                                                                           ) -> None:
    sr = refused_request(as_user)
    clerk, reviewer = as_user("rst_clerk"), as_user("gat_reviewer")
    d = open_dispute(clerk, sr["id"])
    sizes = []
    for n in range(ROUNDS):
        step(reviewer, d["id"], "provider-position", {**NOT_SHARE, "position": f"第{n + 1}轮：仍不同意"})
        d = step(clerk, d["id"], "requester-reply", {"response": "continue", "position": f"第{n + 1}轮：请再考虑"})
        sizes.append((len(d["records"]), len(d["history"])))
    # The action's answer: the latest 20 entries and lines at most, oldest first, and where the earlier start.
    assert sizes[0] == (3, 7) and sizes[-1] == (20, 20) and max(sizes) == (20, 20), sizes
    assert d["records_next_cursor"] and d["history_next_cursor"]
    assert d["records"][-1]["kind"] == "requester_position" and d["records"][-1]["round"] == ROUNDS

    records = earlier(clerk, f"/api/disputes/{d['id']}/records", d["records"], d["records_next_cursor"])
    ids = [r["id"] for r in records]
    assert ids == sorted(set(ids)) and len(ids) == 1 + 2 * ROUNDS
    assert records[0]["kind"] == "opened"
    assert [r["round"] for r in records[1:]] == [n for n in range(1, ROUNDS + 1) for _ in (1, 2)]

    lines = earlier(clerk, f"/api/disputes/{d['id']}/history", d["history"], d["history_next_cursor"])
    with rt.db.session() as session:
        whole = trail(session, d["instance_id"], "dispute", d["id"])
    assert [h["seq"] for h in lines] == [h["seq"] for h in whole]  # each once, in order, none missing
    assert lines[0]["action"] == "dispute.opened" and len(lines) > 40
    # Smaller pages walk the same lines.
    page = clerk.get(f"/api/disputes/{d['id']}/history", params={"limit": 7}).json()
    assert len(page["items"]) == 7
    assert earlier(clerk, f"/api/disputes/{d['id']}/history?limit=7", page["items"],
                   page["next_cursor"]) == lines

    # The page: 20 entries in the file and 20 lines of history, each list with its 「更早的记录」 link.
    reader = _page(client, "rst_clerk")
    html = reader.get(f"/disputes/{d['id']}").text
    records_html, history_html = _section(html, "records"), _section(html, "history")
    assert records_html.count("<li") == 21 and history_html.count("<li") == 21
    assert f'href="/disputes/{d["id"]}/history?cursor=' in history_html
    url = f"/disputes/{d['id']}/records?cursor={d['records_next_cursor']}"
    assert f'href="{url}"' in records_html
    page = reader.get(url)  # without script: a page of the earlier entries
    assert page.status_code == 200 and "<html" in page.text and "争议卷宗" in page.text
    assert "提起争议" in page.text and "更早的记录" not in _section(page.text, "")
    fragment = reader.get(url, headers={"HX-Request": "true"})  # the script's request: the lines alone
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert fragment.text.count("<li") == 1 and "提起争议" in fragment.text  # 21 entries: 20 shown, 1 earlier

    # The form still quotes the position being answered (the latest of its kind, wherever it is).
    step(reviewer, d["id"], "provider-position", {**NOT_SHARE, "position": "第11轮：维持原意见"})
    assert "第11轮：维持原意见" in reader.get(f"/disputes/{d['id']}").text


def _forged(payload: Any) -> str:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


BAD_CURSORS = ["garbage!", "%%%", "eyJrIjo", _forged({"k": "catalog", "b": 5}),  # another list's
               _forged({"k": "history", "b": -1}), _forged({"k": "history", "b": "5"}),
               _forged({"k": "history", "b": True}), _forged({"k": "history", "b": 2**70}),
               _forged({"k": "history", "b": 5, "x": 1}), _forged([1, 2]), _forged(b"\xff\xfe"),
               "汉字", "A" * 300]


def test_a_bad_cursor_is_refused_with_422(client, as_user) -> None:
    sr = refused_request(as_user)
    clerk = as_user("rst_clerk")
    d = open_dispute(clerk, sr["id"])
    reader = _page(client, "rst_clerk")
    urls = [f"/api/disputes/{d['id']}/records", f"/api/share-requests/{sr['id']}/history",
            f"/api/instances/{d['instance_id']}/history"]
    for k, cursor in enumerate(BAD_CURSORS):
        for url in (f"/api/disputes/{d['id']}/history", urls[k % len(urls)]):
            r = clerk.get(url, params={"cursor": cursor})
            assert r.status_code == 422, (url, cursor, r.text)
            assert r.json()["detail"]["code"] == "cursor_invalid" and "翻页" in r.json()["detail"]["message"]
    for cursor in BAD_CURSORS[:3]:  # the page: a readable 422
        page = reader.get(f"/disputes/{d['id']}/history", params={"cursor": cursor})
        assert page.status_code == 422 and "cursor_invalid" in page.text, cursor
    # A cursor of one list is no cursor of another: the file's is refused by the history.
    records_cursor = _forged({"k": "dispute_records", "b": 5})
    r = clerk.get(f"/api/disputes/{d['id']}/history", params={"cursor": records_cursor})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "cursor_invalid"


def test_a_page_size_out_of_range_is_refused(client, as_user) -> None:
    sr = refused_request(as_user)
    clerk = as_user("rst_clerk")
    d = open_dispute(clerk, sr["id"])
    for limit in (0, 101, -3):
        r = clerk.get(f"/api/disputes/{d['id']}/records", params={"limit": limit})
        assert r.status_code == 422 and r.json()["detail"]["code"] == "limit_invalid", r.text
    records = clerk.get(f"/api/disputes/{d['id']}/records").json()
    assert [r["kind"] for r in records["items"]] == ["opened"] and records["next_cursor"] is None


def _section(html: str, card_id: str) -> str:
    opening = f'<div class="card" id="{card_id}">' if card_id else '<div class="card">'
    match = re.search(re.escape(opening) + "(.*?)</ol>", html, re.S)
    assert match, card_id
    return match.group(1)


def _page(client: Any, username: str) -> Any:
    from tests.disputes.test_pages import _login  # the page session of one person

    return _login(client.app, username)
