"""撤销: the applicant withdraws a share request still under review."""

from __future__ import annotations

from tests.api.helpers import review_task, submit
from tests.web.test_pages import _csrf, _login


def test_the_applicant_withdraws_and_the_review_task_goes_away(client, as_user) -> None:  # type: ignore[no-untyped-def]
    clerk, reviewer = as_user("rst_clerk"), as_user("gat_reviewer")
    request = submit(clerk)
    task = review_task(reviewer, request["instance_id"])
    r = clerk.post(f"/api/share-requests/{request['id']}/withdraw", json={"reason": "业务需求已变化"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "withdrawn" and r.json()["status_label"] == "已撤销"
    # The reviewer's task is withdrawn: gone from 待办, not completable.
    assert all(t["instance_id"] != request["instance_id"]
               for t in reviewer.get("/api/tasks", params={"view": "todo"}).json()["items"])
    r = reviewer.post(f"/api/tasks/{task['id']}/complete", json={"data": {"decision": "approve", "terms": "按约"}})
    assert r.status_code == 409
    # Told, and on the record.
    titles = [n["title"] for n in reviewer.get("/api/notifications").json()["items"]]
    assert any("已由申请部门撤销" in t for t in titles), titles
    history = clerk.get(f"/api/share-requests/{request['id']}").json()["history"]
    actions = [h["action"] for h in history]
    assert "share_request.withdrawn" in actions and "instance.cancelled" in actions and "task.cancelled" in actions
    assert clerk.get(f"/api/instances/{request['instance_id']}").json()["status"] == "cancelled"
    assert as_user("demo_admin").get("/api/admin/audit/verify").json()["ok"] is True


def test_only_the_applicants_clerk_withdraws_and_only_while_under_review(client, as_user) -> None:  # type: ignore[no-untyped-def]
    clerk, reviewer = as_user("rst_clerk"), as_user("gat_reviewer")
    request = submit(clerk)
    url = f"/api/share-requests/{request['id']}/withdraw"
    r = reviewer.post(url, json={"reason": "提供部门不能撤销"})
    assert r.status_code == 403 and r.json()["detail"]["code"] == "share_request_withdraw_forbidden"
    assert as_user("scjg_clerk").post(url, json={"reason": "无关部门"}).status_code == 404
    assert clerk.post(url, json={"reason": ""}).status_code == 422
    assert clerk.get(f"/api/share-requests/{request['id']}").json()["status"] == "under_review"  # nothing changed
    task = review_task(reviewer, request["instance_id"])
    assert reviewer.post(f"/api/tasks/{task['id']}/complete",
                         json={"data": {"decision": "approve", "terms": "按约"}}).status_code == 200
    r = clerk.post(url, json={"reason": "已经答复后再撤销"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "share_request_not_under_review"
    assert "已通过" in r.json()["detail"]["message"]
    # Granted at once (unconditional): nothing to withdraw either.
    granted = submit(clerk, "410000-scjg-0001")
    assert clerk.post(f"/api/share-requests/{granted['id']}/withdraw", json={"reason": "试一下"}).status_code == 409


def test_withdraw_from_the_page(app, client, as_user) -> None:  # type: ignore[no-untyped-def]
    request = submit(as_user("rst_clerk"))
    page = _login(app, "rst_clerk")
    html = page.get(f"/share-requests/{request['id']}").text
    assert "撤销申请" in html
    r = page.post(f"/share-requests/{request['id']}/withdraw", data={"csrf_token": _csrf(html), "reason": "重复提交"})
    assert r.status_code == 303
    html = page.get(f"/share-requests/{request['id']}").text
    assert "已撤销" in html and "申请部门撤销申请" in html and 'action="/share-requests' not in html


def test_withdraw_racing_the_reply_exactly_one_wins(client, as_user) -> None:  # type: ignore[no-untyped-def]
    import threading

    clerk, reviewer = as_user("rst_clerk"), as_user("gat_reviewer")
    for _ in range(3):  # the race may fall either way: each time exactly one side wins
        request = submit(clerk)
        task = review_task(reviewer, request["instance_id"])
        barrier = threading.Barrier(2)
        results: dict[str, int] = {}

        def withdraw() -> None:
            barrier.wait()
            results["withdraw"] = clerk.post(f"/api/share-requests/{request['id']}/withdraw",
                                             json={"reason": "同时撤销"}).status_code

        def reply() -> None:
            barrier.wait()
            results["reply"] = reviewer.post(f"/api/tasks/{task['id']}/complete",
                                             json={"data": {"decision": "approve", "terms": "按约"}}).status_code

        threads = [threading.Thread(target=withdraw), threading.Thread(target=reply)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results.values()) == [200, 409], results
        detail = clerk.get(f"/api/share-requests/{request['id']}").json()
        expected = "withdrawn" if results["withdraw"] == 200 else "granted"
        assert detail["status"] == expected, (results, detail["status"])
        assert (detail["grant"] is not None) == (expected == "granted")
