"""签收 / 退回 by the same person twice (a double-click, two tabs): what they asked for, once, never a 409."""

import threading

from sqlalchemy import select

from app.engine.models import Task
from app.org.models import User
from app.org.service import load_actor
from app.tasks import flows
from tests.api.helpers import review_task, submit


def _claims(client, request_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    history = client.get(f"/api/share-requests/{request_id}").json()["history"]
    return [h["action"] for h in history if h["action"] in ("task.claimed", "task.unclaimed")]


def _reviewer(rt):  # type: ignore[no-untyped-def]
    with rt.db.session() as session:
        user = session.execute(select(User).where(User.username == "gat_reviewer")).scalar_one()
        return load_actor(session=session, user_id=user.id)


def test_claiming_twice_is_one_claim(client, as_user) -> None:
    created = submit(as_user("rst_clerk"))
    reviewer = as_user("gat_reviewer")
    task = review_task(reviewer, created["instance_id"])
    for _ in range(2):
        r = reviewer.post(f"/api/tasks/{task['id']}/claim")
        assert r.status_code == 200 and r.json()["assignee"] == "gat_reviewer", r.text
    assert _claims(reviewer, created["id"]) == ["task.claimed"]


def test_a_claim_that_lost_the_race_to_the_same_persons_claim_succeeds(client, as_user, rt) -> None:
    created = submit(as_user("rst_clerk"))
    reviewer = as_user("gat_reviewer")
    task = review_task(reviewer, created["instance_id"])
    actor = _reviewer(rt)
    with rt.db.session() as late:
        # The second request read the task while it was still in the pool, before the first committed
        # (held: the session's identity map keeps only objects someone references).
        seen = late.get(Task, task["id"])
        assert seen is not None and seen.assignee_id is None
        late.commit()
        assert reviewer.post(f"/api/tasks/{task['id']}/claim").status_code == 200
        claimed = flows.claim(late, task["id"], actor)
        assert claimed.assignee_id == actor.id
    assert _claims(reviewer, created["id"]) == ["task.claimed"]


def test_an_unclaim_that_lost_the_race_to_the_same_persons_unclaim_succeeds(client, as_user, rt) -> None:
    created = submit(as_user("rst_clerk"))
    reviewer = as_user("gat_reviewer")
    task = review_task(reviewer, created["instance_id"])
    assert reviewer.post(f"/api/tasks/{task['id']}/claim").status_code == 200
    actor = _reviewer(rt)
    with rt.db.session() as late:
        seen = late.get(Task, task["id"])
        assert seen is not None and seen.assignee_id == actor.id
        late.commit()
        assert reviewer.post(f"/api/tasks/{task['id']}/unclaim").status_code == 200
        assert flows.unclaim(late, task["id"], actor).assignee_id is None
    assert reviewer.post(f"/api/tasks/{task['id']}/unclaim").status_code == 200
    assert _claims(reviewer, created["id"]) == ["task.claimed", "task.unclaimed"]


def test_a_race_lost_to_a_colleague_names_the_holder(client, as_user, rt) -> None:
    r = as_user("demo_admin").post("/api/admin/users", json={
        "username": "gat_reviewer2", "password": "Demo#2026", "display_name": "第二审核人",
        "department_code": "410000-gat", "roles": ["reviewer"]})
    assert r.status_code == 201, r.text
    created = submit(as_user("rst_clerk"))
    task = review_task(as_user("gat_reviewer"), created["instance_id"])
    actor = _reviewer(rt)
    with rt.db.session() as late:
        seen = late.get(Task, task["id"])
        assert seen is not None and seen.assignee_id is None
        late.commit()
        assert as_user("gat_reviewer2").post(f"/api/tasks/{task['id']}/claim").status_code == 200
        try:
            flows.claim(late, task["id"], actor)
        except flows.Conflict as exc:
            assert exc.code == "task_claimed_by_other" and "第二审核人" in exc.message_zh
        else:
            raise AssertionError("a task a colleague holds was claimed")


def test_two_concurrent_claims_by_the_same_person_both_succeed(client, as_user) -> None:
    reviewer = as_user("gat_reviewer")
    for _ in range(3):  # the race may fall either way: each time both answer 200 and one claim is recorded
        created = submit(as_user("rst_clerk"))
        task = review_task(reviewer, created["instance_id"])
        barrier = threading.Barrier(2)
        codes: list[int] = []

        def claim() -> None:
            barrier.wait()
            codes.append(reviewer.post(f"/api/tasks/{task['id']}/claim").status_code)

        threads = [threading.Thread(target=claim) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert codes == [200, 200]
        assert _claims(reviewer, created["id"]) == ["task.claimed"]
