"""Generic task use cases: claim, unclaim, complete (one commit each)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session

from app.audit import service as audit
from app.core.clock import clock
from app.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.engine.models import ProcessInstance, Task, TaskStatus
from app.engine.runner import Runner, designated
from app.notifications.service import notify
from app.org.models import ROLE_ZH, Department, Role, User
from app.org.service import Actor, load_actor, region_covers
from app.workdays.calendar import WorkdayCalendar
from app.workdays.service import paused_working_days, recompute_due


def _load_for_work(session: Session, task_id: int, actor: Actor) -> Task:
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound("任务不存在", code="task_not_found")
    if task.department_id != actor.department_id or (task.role and task.role not in actor.roles):
        raise Forbidden("您不是该任务的办理人", code="task_not_yours")
    if task.status != TaskStatus.open.value:
        raise Conflict("该任务已办结", code="task_closed")
    return task


def _holder_conflict(session: Session, assignee_id: int | None) -> Conflict:
    holder = session.get(User, assignee_id) if assignee_id is not None else None
    who = holder.display_name if holder is not None else "他人"
    return Conflict(f"该任务已被{who}签收", code="task_claimed_by_other",
                    extra={"assignee": holder.username if holder is not None else None})


def _current(session: Session, task: Task) -> Task:
    # Re-read after a lost race: this transaction's earlier read may predate the winner's commit.
    session.refresh(task)
    if task.status != TaskStatus.open.value:
        raise Conflict("该任务已办结", code="task_closed")
    return task


def claim(session: Session, task_id: int, actor: Actor) -> Task:
    """Take a task of one's department and role so that no colleague works it meanwhile.

    Claiming a task one already holds is a success that records nothing: a double-click or a second
    tab racing the first must not tell the holder that “someone else” has it.
    """
    task = _load_for_work(session, task_id, actor)
    if task.assignee_id == actor.id:
        return task
    result = session.execute(
        update(Task).where(Task.id == task_id, Task.status == TaskStatus.open.value,
                           Task.assignee_id.is_(None)).values(assignee_id=actor.id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        task = _current(session, task)
        if task.assignee_id == actor.id:
            return task  # the same person's other request won: nothing more to record
        raise _holder_conflict(session, task.assignee_id)
    audit.append(session, at=clock.now(), actor=actor.username, action="task.claimed", entity_type="task",
                 entity_id=task_id, instance_id=task.instance_id, detail={"task": task.name})
    session.commit()
    session.refresh(task)
    return task


def unclaim(session: Session, task_id: int, actor: Actor) -> Task:
    """Give a claimed task back to the department's pool (giving back a task in the pool changes nothing)."""
    task = _load_for_work(session, task_id, actor)
    if task.assignee_id is None:
        return task
    if task.assignee_id != actor.id:
        raise Conflict("该任务由他人签收，只有签收人可以退回", code="task_claimed_by_other")
    if designated(session, task):
        raise Conflict("该任务指定由您本人办理（会签），不能退回部门待办；如需他人办理请转办",
                       code="task_designated")
    result = session.execute(
        update(Task).where(Task.id == task_id, Task.status == TaskStatus.open.value,
                           Task.assignee_id == actor.id).values(assignee_id=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        task = _current(session, task)
        if task.assignee_id is None:
            return task  # the same person's other request gave it back already
        raise Conflict("该任务由他人签收，只有签收人可以退回", code="task_claimed_by_other")
    audit.append(session, at=clock.now(), actor=actor.username, action="task.unclaimed", entity_type="task",
                 entity_id=task_id, instance_id=task.instance_id, detail={"task": task.name})
    session.commit()
    session.refresh(task)
    return task


def complete(session: Session, runner: Runner, task_id: int, data: Any, actor: Actor, *,
             locked: tuple[Task, ProcessInstance] | None = None) -> Task:
    """Complete a task with its form data: the instance steps and every effect commits together.

    `locked`: the task and instance runner.lock_task returned in this transaction, if already taken.
    """
    from app.tasks.side import open_side_of

    # Under the instance lock: no side task can open between this check and the completion.
    locked = locked or runner.lock_task(session, task_id)
    if open_side_of(session, task_id, locked=True) is not None:
        raise Conflict("该任务正在等待补正、加签或委派办理，暂不能办理", code="task_waiting")
    task = runner.complete_task(session, task_id, data, actor, locked=locked)
    session.commit()
    return task


def _may_pause(session: Session, task: Task, actor: Actor) -> bool:
    # An authority reviewer of the task's level or above, or the head of the task's department.
    if actor.has_role("head") and actor.department_id == task.department_id:
        return True
    if not actor.has_role("authority_reviewer") or task.department_id is None:
        return False
    dept = session.get(Department, task.department_id)
    return dept is not None and region_covers(session=session, ancestor_code=actor.region_code,
                                              code=dept.region_code)


def _lock_open_task(session: Session, task_id: int) -> Task:
    task = session.execute(
        select(Task).where(Task.id == task_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if task is None:
        raise NotFound("任务不存在", code="task_not_found")
    if task.status != TaskStatus.open.value:
        raise Conflict("该任务已办结", code="task_closed")
    return task


def may_reassign(task: Task, actor: Actor) -> bool:
    """转办: the person who holds the task, the department's head, or an administrator."""
    if actor.has_role("admin"):
        return True
    return task.department_id == actor.department_id and (task.assignee_id == actor.id or actor.has_role("head"))


def reassign_candidates(session: Session, task: Task) -> list[User]:
    """Active colleagues of the task's department who hold its role (whom it may be handed to)."""
    from app.org.models import UserRole

    query = select(User).where(User.department_id == task.department_id, User.is_active.is_(True))
    if task.role:
        query = query.join(UserRole, UserRole.user_id == User.id).where(UserRole.role == task.role)
    return list(session.execute(query.order_by(User.username)).scalars().all())


def reassign(session: Session, task_id: int, actor: Actor, username: str, note: str = "") -> Task:
    """Hand an open task to a colleague of its department holding its role (转办); audited, the colleague told."""
    task = _lock_open_task(session, task_id)
    if not may_reassign(task, actor):
        raise Forbidden("只有任务的签收人、本部门负责人或系统管理员可以转办", code="reassign_forbidden")
    target_user = session.execute(select(User).where(User.username == username.strip())).scalar_one_or_none()
    target = load_actor(session=session, user_id=target_user.id) if target_user is not None else None
    if target is None:
        raise InvalidInput(f"用户“{username.strip()}”不存在或已停用", code="reassign_target_unknown")
    if target.department_id != task.department_id:
        raise InvalidInput(f"{target.display_name}不是本任务办理部门的人员，不能转办", code="reassign_target_other_department")
    if task.role and task.role not in target.roles:
        role = ROLE_ZH[Role(task.role)] if task.role in Role.__members__ else task.role
        raise InvalidInput(f"{target.display_name}没有办理该任务所需的角色（{role}）", code="reassign_target_lacks_role")
    if target.id == task.assignee_id:
        raise Conflict(f"该任务已由{target.display_name}签收", code="reassign_same_assignee")
    note = note.strip()[:500]
    previous = task.assignee_id
    previous_name = None
    if previous is not None:
        holder = session.get(User, previous)
        previous_name = holder.username if holder is not None else None
    instance = session.get(ProcessInstance, task.instance_id)
    subject = (instance.subject if instance is not None else "") or task.name
    now = clock.now()
    task.assignee_id = target.id
    session.add(task)
    audit.append(session, at=now, actor=actor.username, action="task.reassigned", entity_type="task",
                 entity_id=task_id, instance_id=task.instance_id,
                 detail={"task": task.name, "from": previous_name, "to": target.username,
                         "to_name": target.display_name, "note": note})
    notify(session, user_ids=[target.id], kind="task_assigned", title=f"转办给您：{task.name}",
           body=f"{actor.display_name}将“{subject}”转办给您。{('说明：' + note) if note else ''}",
           link=f"/tasks/{task_id}", dedupe_key=f"reassigned:{task_id}:{target.id}:{now.timestamp():.6f}", at=now)
    session.commit()
    return task


def pause(session: Session, task_id: int, actor: Actor, reason: str) -> Task:
    """Pause a task's deadline (挂起), e.g. while the applicant supplements material."""
    task = _lock_open_task(session, task_id)
    if not _may_pause(session, task, actor):
        raise Forbidden("只有主管部门审核员或本部门负责人可以挂起任务", code="pause_forbidden")
    if task.paused_at is not None:
        raise Conflict("该任务已挂起", code="task_already_paused")
    now = clock.now()
    if task.due_at is not None and task.due_at < now:
        raise Conflict("任务已超期，不能挂起", code="task_overdue")
    reason = reason.strip()
    if len(reason) < 2:
        raise InvalidInput("请填写挂起原因", code="pause_reason_required")
    task.paused_at = now
    task.pause_reason = reason[:500]
    session.add(task)
    audit.append(session, at=now, actor=actor.username, action="task.paused", entity_type="task",
                 entity_id=task_id, instance_id=task.instance_id, detail={"task": task.name, "reason": reason})
    session.commit()
    return task


def resume(session: Session, task_id: int, actor: Actor, calendar: WorkdayCalendar) -> Task:
    """Resume a paused task: its deadline moves by the working days the pause covered."""
    task = _lock_open_task(session, task_id)
    if not _may_pause(session, task, actor):
        raise Forbidden("只有主管部门审核员或本部门负责人可以恢复任务", code="pause_forbidden")
    if task.paused_at is None:
        raise Conflict("该任务未挂起", code="task_not_paused")
    now = clock.now()
    shift = paused_working_days(calendar, task.paused_at, now)
    old_due = task.due_at
    if task.due_working_days is not None:
        task.paused_working_days += shift
        due = recompute_due(calendar, task.due_start, task.due_working_days, task.paused_working_days)
        task.due_at, task.due_provisional = due.due_at, due.provisional
    session.add(task)
    audit.append(session, at=now, actor=actor.username, action="task.resumed", entity_type="task",
                 entity_id=task_id, instance_id=task.instance_id,
                 detail={"task": task.name, "paused_since": task.paused_at.isoformat(),
                         "working_days_added": shift, "due_before": old_due.isoformat() if old_due else None,
                         "due_after": task.due_at.isoformat() if task.due_at else None})
    task.paused_at = None
    task.pause_reason = None
    session.commit()
    return task
