"""A user task designated by a variable, a literal username or the initiator (Camunda 7 parity, issue 16).

The task keeps its candidate roles: the person named must hold one of them. Runner tests store the state
in the database after every step (SQLite, and PostgreSQL with GOVFLOW_TEST_DATABASE_URL).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from app.core.clock import clock
from app.core.errors import InvalidInput
from app.core.security import hash_password
from app.engine.bpmn import describe
from app.engine.errors import BpmnRejected
from app.engine.models import ProcessInstance, Task
from app.org.models import User, UserRole
from tests.conftest import DEMO_PASSWORD
from tests.designer.migration_helpers import actor, open_tasks
from tests.engine.support import fixture, linear


def _deploy(rt: Any, xml: bytes, name: str = "assign_by_variable") -> None:
    with rt.db.session() as s:
        rt.runner.deploy(s, xml, filename=f"{name}.bpmn", actor="designer")
        s.commit()


def _second_reviewer(rt: Any) -> None:
    """Add gat_reviewer2: a second holder of the role reviewer in gat_reviewer's department."""
    with rt.db.session() as s:
        first = s.execute(select(User).where(User.username == "gat_reviewer")).scalar_one()
        user = User(username="gat_reviewer2", password_hash=hash_password(DEMO_PASSWORD), display_name="李强",
                    department_id=first.department_id, created_at=clock.now())
        s.add(user)
        s.flush()
        s.add(UserRole(user_id=user.id, role="reviewer"))
        s.commit()


def test_metadata_tells_a_variable_a_literal_and_the_initiator() -> None:
    deployed = describe(fixture("assign_by_variable").xml)
    assert deployed.initiator == "starter"
    metas = deployed.user_tasks
    assert metas["prepare"].assignee_from == {"assignee_variable": "starter", "collection": None, "loop": None}
    assert metas["review"].assignee_from == {"assignee_variable": "approver", "collection": None, "loop": None}
    literal = describe(linear('<bpmn:userTask id="t" camunda:candidateGroups="reviewer" '
                              'camunda:assignee="gat_reviewer" />'))
    assert literal.user_tasks["t"].assignee_from == {"assignee_username": "gat_reviewer", "collection": None,
                                                     "loop": None}
    assert literal.initiator is None


@pytest.mark.parametrize(("element", "code"), [
    # Without candidate roles a variable does not make a task deployable: who may decide is a role.
    ('<bpmn:userTask id="t" camunda:assignee="${approver}" />', "no_candidates"),
    # Only a plain variable: anything else is an expression the runner cannot name a person with.
    ('<bpmn:userTask id="t" camunda:candidateGroups="reviewer" camunda:assignee="${form.approver}" />',
     "expression"),
    ('<bpmn:userTask id="t" camunda:candidateGroups="reviewer" camunda:candidateUsers="${reviewers}" />',
     "expression"),
])
def test_what_stays_refused(element: str, code: str) -> None:
    with pytest.raises(BpmnRejected) as refused:
        describe(linear(element))
    assert ("t", code) in [(element_id, c) for element_id, _, c in refused.value.problems]


def test_initiator_and_variable_designate_the_task_and_only_that_person_works_it(
        rt, as_user) -> None:  # type: ignore[no-untyped-def]
    _deploy(rt, fixture("assign_by_variable").xml)
    _second_reviewer(rt)
    clerk = actor(rt, "gat_clerk")
    with rt.db.session() as s:
        # What the caller sends under the initiator's name is replaced by the starter's username.
        instance_id = rt.runner.start(s, "assign_by_variable", variables={"starter": "gat_head"}, actor=clerk,
                                      subject="指定审核人").id
        s.commit()
    [prepare] = open_tasks(rt, instance_id)
    assert (prepare.task_spec, prepare.assignee_id, prepare.role) == ("prepare", clerk.id, "clerk")

    # A name that is no user, or a user without the role reviewer: 422, nothing changes.
    for approver, code in (("nobody_here", "task_assignee_unknown"), ("gat_head", "task_assignee_no_role")):
        r = as_user("gat_clerk").post(f"/api/tasks/{prepare.id}/complete", json={"data": {"approver": approver}})
        assert (r.status_code, r.json()["detail"]["code"]) == (422, code), r.text
        assert [t.id for t in open_tasks(rt, instance_id)] == [prepare.id]

    r = as_user("gat_clerk").post(f"/api/tasks/{prepare.id}/complete", json={"data": {"approver": "gat_reviewer2"}})
    assert r.status_code == 200, r.text
    [review] = open_tasks(rt, instance_id)
    second = actor(rt, "gat_reviewer2")
    assert (review.task_spec, review.assignee_id, review.department_id) == ("review", second.id,
                                                                            second.department_id)

    def todo(name: str) -> list[int]:
        r = as_user(name).get("/api/tasks", params={"view": "todo"})
        assert r.status_code == 200, r.text
        return [t["id"] for t in r.json()["items"] if t["instance_id"] == instance_id]

    assert todo("gat_reviewer2") == [review.id]
    assert todo("gat_reviewer") == []  # the other holder of the role does not see it
    other = as_user("gat_reviewer")
    r = other.post(f"/api/tasks/{review.id}/claim")
    assert (r.status_code, r.json()["detail"]["code"]) == (409, "task_claimed_by_other"), r.text
    r = other.post(f"/api/tasks/{review.id}/complete", json={"data": {"opinion": "同意"}})
    assert (r.status_code, r.json()["detail"]["code"]) == (409, "task_claimed_by_other"), r.text
    r = as_user("gat_reviewer2").post(f"/api/tasks/{review.id}/unclaim")
    assert (r.status_code, r.json()["detail"]["code"]) == (409, "task_designated"), r.text

    r = as_user("gat_reviewer2").post(f"/api/tasks/{review.id}/complete", json={"data": {"opinion": "同意"}})
    assert r.status_code == 200, r.text
    with rt.db.session() as s:
        instance = s.get(ProcessInstance, instance_id)
        assert instance is not None and instance.status == "completed"
        variables = rt.runner.variables(s, instance)
        assert (variables["starter"], variables["approver"]) == ("gat_clerk", "gat_reviewer2")


def test_a_system_start_leaves_the_initiator_unset(rt) -> None:  # type: ignore[no-untyped-def]
    _deploy(rt, fixture("assign_by_variable").xml)
    with rt.db.session() as s:
        with pytest.raises(InvalidInput) as refused:
            rt.runner.start(s, "assign_by_variable", variables={"starter": "gat_clerk"}, actor="system",
                            subject="系统发起")
        assert refused.value.code == "task_assignee_missing"
        assert "starter" in refused.value.message_zh
        s.rollback()
        assert s.execute(select(Task)).first() is None


def test_a_literal_assignee_is_that_user_who_must_hold_the_role(rt) -> None:  # type: ignore[no-untyped-def]
    _deploy(rt, linear('<bpmn:userTask id="t" name="审核" camunda:candidateGroups="reviewer" '
                       'camunda:assignee="gat_reviewer" />', process_id="literal_ok"), "literal_ok")
    _deploy(rt, linear('<bpmn:userTask id="t" name="审核" camunda:candidateGroups="reviewer" '
                       'camunda:assignee="gat_clerk" />', process_id="literal_no_role"), "literal_no_role")
    clerk = actor(rt, "gat_clerk")
    with rt.db.session() as s:
        instance_id = rt.runner.start(s, "literal_ok", variables={}, actor=clerk, subject="直接指定").id
        s.commit()
    [task] = open_tasks(rt, instance_id)
    assert (task.assignee_id, task.role) == (actor(rt, "gat_reviewer").id, "reviewer")
    with rt.db.session() as s:
        with pytest.raises(InvalidInput) as refused:
            rt.runner.start(s, "literal_no_role", variables={}, actor=clerk, subject="直接指定")
        assert refused.value.code == "task_assignee_no_role"


@pytest.mark.parametrize("name", ["", "a-b", "_hidden", "typename"])
def test_an_invalid_initiator_variable_is_refused_naming_the_start_event(name: str) -> None:
    xml = linear('<bpmn:userTask id="t" camunda:candidateGroups="clerk" camunda:assignee="${starter}" />')
    xml = xml.replace(b'<bpmn:startEvent id="start"', f'<bpmn:startEvent id="start" camunda:initiator="{name}"'.encode())
    assert f'camunda:initiator="{name}"'.encode() in xml
    with pytest.raises(BpmnRejected) as refused:
        describe(xml)
    assert [(element, code) for element, _, code in refused.value.problems] == [("start", "initiator")]
