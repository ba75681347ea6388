"""Migration of running instances to a newer version: candidates, batches, task rows, audit, races, API."""

from __future__ import annotations

import hashlib
import threading

import pytest
from sqlalchemy import select

from app.core.errors import Conflict
from app.designer import migration
from app.engine.models import ProcessInstance, Task
from app.tasks import flows as task_flows
from tests.designer.migration_helpers import (PROCESS, V1, V2, actor, bpmn, complete, deploy, events, open_tasks, row,
                                    start, version_of)

def _by_id(rows):  # type: ignore[no-untyped-def]
    return {r["instance_id"]: r for r in rows}


def test_candidates_say_who_can_move_and_why_not(rt, three) -> None:
    at_prepare, at_review, at_archive = three
    with rt.db.session() as s:
        rows = _by_id(migration.candidates(s, rt, PROCESS, None))
    assert set(rows) == {at_prepare, at_review, at_archive}
    assert rows[at_prepare]["movable"] and rows[at_prepare]["reason"] is None
    assert rows[at_prepare]["current"] == ["准备材料"] and rows[at_prepare]["version"] == 1
    assert rows[at_review]["movable"] and rows[at_review]["current"] == ["审核"]
    assert rows[at_archive]["movable"] is False
    assert rows[at_archive]["reason"] == "当前所在步骤 归档（archive） 在新版本中已删除或改名"


def test_migrate_all_moves_the_movable_and_leaves_the_rest_byte_for_byte(rt, three, reviewer) -> None:
    at_prepare, at_review, at_archive = three
    # The reviewer holds the review task before the migration: the claim and the deadline stay.
    [review_task] = open_tasks(rt, at_review)
    with rt.db.session() as s:
        task_flows.claim(s, review_task.id, reviewer)  # type: ignore[arg-type]
    before_archive = row(rt, at_archive)
    archive_rows = [(t.id, t.status, t.due_at) for t in open_tasks(rt, at_archive)]

    with rt.db.session() as s:
        result = migration.migrate(s, rt, actor(rt, "designer"), PROCESS, 2, None)
    assert sorted(result["migrated"]) == sorted([at_prepare, at_review])
    assert result["failed"] == [{"instance_id": at_archive,
                                 "reason": "当前所在步骤 归档（archive） 在新版本中已删除或改名"}]

    assert row(rt, at_archive) == before_archive
    assert [(t.id, t.status, t.due_at) for t in open_tasks(rt, at_archive)] == archive_rows
    assert version_of(rt, at_archive) == 1 and events(rt, at_archive, "instance.migrated") == []

    assert version_of(rt, at_review) == version_of(rt, at_prepare) == 2
    [kept] = open_tasks(rt, at_review)
    assert (kept.id, kept.spiff_task_id, kept.assignee_id, kept.due_at, kept.created_at) == (
        review_task.id, review_task.spiff_task_id, reviewer.id, review_task.due_at, review_task.created_at)
    [migrated] = events(rt, at_review, "instance.migrated")
    assert migrated.actor == "designer"
    assert migrated.detail["from_version"] == 1 and migrated.detail["to_version"] == 2
    assert events(rt, at_review, "task.cancelled") == []

    # It continues on v2: review, then the new step, then the end.
    complete(rt, at_review, "review", reviewer)
    assert [t.task_spec for t in open_tasks(rt, at_review)] == ["sign"]
    complete(rt, at_review, "sign", reviewer)
    assert row(rt, at_review)["status"] == "completed"
    complete(rt, at_prepare, "prepare", reviewer)
    assert [t.name for t in open_tasks(rt, at_prepare)] == ["审核"]

    # Nothing older is left to move but the immovable one.
    with rt.db.session() as s:
        assert [r["instance_id"] for r in migration.candidates(s, rt, PROCESS, 2)] == [at_archive]


def test_a_failure_in_the_middle_of_a_batch_touches_only_that_instance(rt, reviewer) -> None:
    deploy(rt, V1)
    first, broken, last = (start(rt, reviewer) for _ in range(3))
    # The middle instance's stored state names another definition: it cannot be read back.
    with rt.db.session() as s:
        instance = s.get(ProcessInstance, broken)
        assert instance is not None
        content_hash = rt.runner.definition(s, instance.definition_id).content_hash
        instance.state = instance.state.replace(content_hash, hashlib.sha256(b"other").hexdigest())
        s.commit()
    before = row(rt, broken)
    deploy(rt, V2)
    with rt.db.session() as s:
        result = migration.migrate(s, rt, actor(rt, "designer"), PROCESS, 2, [first, broken, last])
    assert result["migrated"] == [first, last]
    [failure] = result["failed"]
    assert failure["instance_id"] == broken and failure["reason"].startswith("无法读取实例或比较新版本")
    assert row(rt, broken) == before
    assert events(rt, broken, "instance.migrated") == []
    assert version_of(rt, first) == version_of(rt, last) == 2


def test_selected_ids_that_are_not_candidates_fail_with_a_reason(rt, reviewer) -> None:
    deploy(rt, V1)
    done = start(rt, reviewer)
    for step in ("prepare", "review", "archive"):
        complete(rt, done, step, reviewer)
    deploy(rt, V2)
    newer = start(rt, reviewer)
    with rt.db.session() as s:
        result = migration.migrate(s, rt, actor(rt, "designer"), PROCESS, 2, [done, newer, 987654])
    assert result["migrated"] == []
    assert {f["instance_id"]: f["reason"] for f in result["failed"]} == {
        done: "流程已结束，无需迁移",
        newer: "实例已在版本 2 上，不能迁移到版本 2",
        987654: "流程实例不存在",
    }
    with rt.db.session() as s:
        assert migration.candidates(s, rt, PROCESS, 2) == []


def test_a_changed_role_or_deadline_of_the_current_step_keeps_the_instance(rt, reviewer) -> None:
    deploy(rt, V1)
    at_prepare = start(rt, reviewer)
    deploy(rt, bpmn(("prepare", "准备材料"), ("review", "审核"), ("archive", "归档"), due="7WD"))
    with rt.db.session() as s:
        [candidate] = migration.candidates(s, rt, PROCESS, 2)
    assert candidate["instance_id"] == at_prepare and not candidate["movable"]
    assert candidate["reason"] == "当前所在步骤 准备材料（prepare）的办理期限在新版本中已变更"


def test_a_completion_racing_the_migration_gets_409_and_nothing_is_corrupted(rt, three, reviewer) -> None:
    _, at_review, _ = three
    [task] = open_tasks(rt, at_review)
    with rt.db.session() as late:
        # The reviewer's request read the instance and its task before the migration committed ...
        locked = rt.runner.lock_task(late, task.id)  # type: ignore[arg-type]
        late.commit()
        with rt.db.session() as s:
            assert migration.migrate(s, rt, actor(rt, "designer"), PROCESS, 2, [at_review])["migrated"] == [at_review]
        # ... and writes after it: the usual 409, nothing half-written.
        with pytest.raises(Conflict) as refused:
            rt.runner.complete_task(late, task.id, {}, reviewer, locked=locked)  # type: ignore[arg-type]
        assert refused.value.code == "instance_changed"
        late.rollback()
    assert version_of(rt, at_review) == 2
    assert [t.id for t in open_tasks(rt, at_review)] == [task.id]
    assert [e.detail["task_spec"] for e in events(rt, at_review, "task.completed")] == ["prepare"]
    # Tried again, the completion runs on v2.
    complete(rt, at_review, "review", reviewer)
    assert [t.task_spec for t in open_tasks(rt, at_review)] == ["sign"]


def test_a_completion_before_the_migration_is_seen_by_it(rt, three, reviewer) -> None:
    _, at_review, _ = three
    complete(rt, at_review, "review", reviewer)  # now at archive, which v2 deleted
    with rt.db.session() as s:
        result = migration.migrate(s, rt, actor(rt, "designer"), PROCESS, 2, [at_review])
    assert result["migrated"] == [] and "归档（archive）" in result["failed"][0]["reason"]
    with rt.db.session() as s:
        tasks = s.execute(select(Task.task_spec, Task.status).where(Task.instance_id == at_review)
                          .order_by(Task.id)).all()
    assert [tuple(t) for t in tasks] == [("prepare", "completed"), ("review", "completed"), ("archive", "open")]


# ---- API -----------------------------------------------------------------------------------------

URL = f"/api/designer/processes/{PROCESS}/migrations"


def test_api_lists_candidates_without_case_content_for_designers(rt, three, as_user) -> None:
    at_prepare, at_review, at_archive = three
    r = as_user("designer").get(URL)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["to_version"] == 2
    rows = _by_id(body["instances"])
    assert set(rows) == {at_prepare, at_review, at_archive}
    assert all("subject" not in row for row in rows.values())
    assert rows[at_archive] == {**rows[at_archive], "movable": False, "version": 1, "current": ["归档"]}
    admin = _by_id(as_user("demo_admin").get(URL, params={"to_version": 2}).json()["instances"])
    assert admin[at_review]["subject"] == "某公司数据共享申请"


def test_api_refuses_others_and_bad_input(rt, three, as_user) -> None:
    for username in ("gat_reviewer", "rst_clerk", "gov_supervisor"):
        assert as_user(username).get(URL).status_code == 403
        assert as_user(username).post(URL, json={"to_version": 2, "all": True}).status_code == 403
    designer = as_user("designer")
    r = designer.get(URL, params={"to_version": 9})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "version_unknown"
    assert designer.get(URL, params={"to_version": "x"}).status_code == 422
    r = designer.get("/api/designer/processes/no_such_process/migrations")
    assert r.status_code == 404 and r.json()["detail"]["code"] == "process_not_found"
    for body in ({"to_version": 2}, {"to_version": 2, "all": True, "instance_ids": [1]},
                 {"to_version": 2, "instance_ids": []}):
        r = designer.post(URL, json=body)
        assert r.status_code == 422, body
        assert r.json()["detail"]["code"].startswith("migration_selection")
    r = designer.post(URL, json={"to_version": 7, "all": True})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "version_unknown"
    assert all(version_of(rt, i) == 1 for i in three)


def test_api_migrates_a_selection_and_all(rt, three, as_user) -> None:
    at_prepare, at_review, at_archive = three
    designer = as_user("designer")
    r = designer.post(URL, json={"to_version": 2, "instance_ids": [at_review]})
    assert r.status_code == 200, r.text
    assert r.json() == {"migrated": [at_review], "failed": []}
    assert version_of(rt, at_prepare) == 1
    r = designer.post(URL, json={"to_version": 2, "all": True})
    assert r.json()["migrated"] == [at_prepare]
    assert [f["instance_id"] for f in r.json()["failed"]] == [at_archive]
    history = as_user("demo_admin").get(f"/api/instances/{at_review}").json()["history"]
    assert any(h["action"] == "instance.migrated" for h in history)


def _consistent(rt, instance_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Restore the instance on its version and check its open task rows are the engine's ready tasks."""
    with rt.db.session() as s:
        instance = s.get(ProcessInstance, instance_id)
        _, workflow = rt.runner._restore(s, instance)
        ready = {t.id: t.task_spec for t in rt.engine.ready_user_tasks(workflow)}
    rows = {t.spiff_task_id: t.task_spec for t in open_tasks(rt, instance_id)}
    assert rows == ready
    return sorted(ready.values())


def test_completion_and_migration_at_the_same_moment_leave_a_consistent_instance(rt, three, as_user) -> None:
    _, at_review, _ = three
    [task] = open_tasks(rt, at_review)
    reviewer, designer = as_user("gat_reviewer"), as_user("designer")
    barrier = threading.Barrier(2)
    answers: dict[str, object] = {}

    def complete_it() -> None:
        barrier.wait()
        answers["complete"] = reviewer.post(f"/api/tasks/{task.id}/complete", json={"data": {}}).status_code

    def migrate_it() -> None:
        barrier.wait()
        answers["migrate"] = designer.post(URL, json={"to_version": 2, "instance_ids": [at_review]}).json()

    threads = [threading.Thread(target=complete_it), threading.Thread(target=migrate_it)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers["complete"] in (200, 409)
    moved = answers["migrate"]["migrated"] == [at_review]  # type: ignore[index]
    steps = _consistent(rt, at_review)
    if answers["complete"] == 200 and moved:  # completed on v1 first would be at archive: not movable
        assert steps == ["sign"] and version_of(rt, at_review) == 2
    elif answers["complete"] == 200:  # completed first; archive was deleted in v2, so it stayed
        assert steps == ["archive"] and version_of(rt, at_review) == 1
    else:
        assert moved and steps == ["review"]
