"""转办: the holder, the department's head or an administrator hands an open task to a colleague."""

from __future__ import annotations

import re

from tests.api.helpers import review_task, submit
from tests.conftest import DEMO_PASSWORD


def _colleague(as_user, username: str = "gat_reviewer2", roles: list[str] | None = None):  # type: ignore[no-untyped-def]
    r = as_user("demo_admin").post("/api/admin/users", json={
        "username": username, "password": DEMO_PASSWORD, "display_name": "钱程（省公安厅审核人）",
        "department_code": "410000-gat", "roles": roles or ["reviewer"]})
    assert r.status_code == 201, r.text
    return as_user(username)


def test_the_holder_hands_the_task_to_a_colleague_who_then_works_it(client, as_user) -> None:
    colleague = _colleague(as_user)
    reviewer = as_user("gat_reviewer")
    request = submit(as_user("rst_clerk"))
    task = review_task(reviewer, request["instance_id"])
    assert reviewer.post(f"/api/tasks/{task['id']}/claim").status_code == 200
    r = reviewer.post(f"/api/tasks/{task['id']}/reassign", json={"username": "gat_reviewer2", "note": "请钱程办理"})
    assert r.status_code == 200, r.text
    assert r.json()["assignee"] == "gat_reviewer2"
    # It left the holder's 待办 and is the colleague's now; the holder may no longer complete it.
    assert all(t["id"] != task["id"] for t in reviewer.get("/api/tasks", params={"view": "todo"}).json()["items"])
    assert [t["id"] for t in colleague.get("/api/tasks", params={"view": "todo"}).json()["items"]] == [task["id"]]
    r = reviewer.post(f"/api/tasks/{task['id']}/complete", json={"data": {"decision": "approve", "terms": "按约"}})
    assert r.status_code == 409, r.text
    r = colleague.post(f"/api/tasks/{task['id']}/complete", json={"data": {"decision": "approve", "terms": "按约"}})
    assert r.status_code == 200, r.text
    # Told, and on the record with who handed it to whom and why.
    titles = [n["title"] for n in colleague.get("/api/notifications").json()["items"]]
    assert any("转办给您" in t for t in titles), titles
    history = reviewer.get(f"/api/instances/{request['instance_id']}").json()["history"]
    [line] = [h for h in history if h["action"] == "task.reassigned"]
    assert line["actor"] == "gat_reviewer" and line["detail"]["from"] == "gat_reviewer"
    assert line["detail"]["to"] == "gat_reviewer2" and line["detail"]["note"] == "请钱程办理"


def test_who_may_reassign_and_to_whom(client, as_user) -> None:
    _colleague(as_user)
    _colleague(as_user, "gat_clerk2", roles=["clerk"])
    request = submit(as_user("rst_clerk"))
    task = review_task(as_user("gat_reviewer"), request["instance_id"])
    url = f"/api/tasks/{task['id']}/reassign"
    # Unclaimed: a reviewer of the department is not its holder; another department sees nothing to hand over.
    r = as_user("gat_reviewer").post(url, json={"username": "gat_reviewer2"})
    assert r.status_code == 403 and r.json()["detail"]["code"] == "reassign_forbidden"
    r = as_user("scjg_reviewer").post(url, json={"username": "gat_reviewer2"})
    assert r.status_code == 404
    head = as_user("gat_head")
    for username, code in (("nobody", "reassign_target_unknown"), ("scjg_reviewer", "reassign_target_other_department"),
                           ("gat_clerk2", "reassign_target_lacks_role")):
        r = head.post(url, json={"username": username})
        assert r.status_code == 422 and r.json()["detail"]["code"] == code, r.text
        assert re.search(r"[\u4e00-\u9fff]", r.json()["detail"]["message"])
    assert head.post(url, json={"username": ""}).status_code == 422
    assert as_user("gat_reviewer").get(f"/api/tasks/{task['id']}").json()["assignee"] is None  # nothing changed
    # The head assigns it; assigning it to the same person again is a conflict; an administrator reassigns it.
    assert head.post(url, json={"username": "gat_reviewer2"}).json()["assignee"] == "gat_reviewer2"
    r = head.post(url, json={"username": "gat_reviewer2"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "reassign_same_assignee"
    assert as_user("demo_admin").post(url, json={"username": "gat_reviewer"}).json()["assignee"] == "gat_reviewer"
    # Done tasks stay done.
    reviewer = as_user("gat_reviewer")
    assert reviewer.post(f"/api/tasks/{task['id']}/complete",
                         json={"data": {"decision": "approve", "terms": "按约"}}).status_code == 200
    r = head.post(url, json={"username": "gat_reviewer2"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "task_closed"
