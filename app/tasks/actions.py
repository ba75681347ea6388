"""Actions that change who acts on a task: 退回, 退回补正, 撤回, 加签, 委派, 代理 (one commit each).

Every process, not only share requests: the engine resets an instance to an earlier step (Runner.reset_instance);
补正, 加签 and 委派 are side tasks (app.tasks.models.TaskSide) beside the engine task, which waits out of every
inbox while one is open.

代理 (standing delegation) rule: while a deputy period is in force (dates inclusive, Beijing days), the deputy
sees, in the 代理 part of the inbox, the principal's claimed tasks and the pool tasks of the principal's
department and roles, and may work them as the principal would; the audit records "deputy 代 principal".
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlmodel import Session

from app.audit import service as audit
from app.core.clock import clock
from app.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.engine import forms
from app.engine.hooks import hooks
from app.engine.models import InstanceStatus, ProcessInstance, Task, TaskStatus
from app.engine.runner import Runner, may_work
from app.notifications.service import notify
from app.org.models import User
from app.org.service import Actor, load_actor
from app.tasks.models import Deputy, SideKind, SideStatus, TaskSide
from app.tasks.side import known_without_open_side, open_side_of, principals_of
from app.workdays.calendar import WorkdayCalendar
from app.workdays.service import paused_working_days, recompute_due

REASON_MAX = 500


def _reason(text: str, code: str, what: str) -> str:
    text = (text or "").strip()
    if len(text) < 2:
        raise InvalidInput(f"请填写{what}（至少 2 个字）", code=code)
    if len(text) > REASON_MAX:
        raise InvalidInput(f"{what}不能超过 {REASON_MAX} 字", code=code)
    return text


def acting_as(session: Session, task: Task, actor: Actor) -> Actor | None:
    """Return whom the actor works this task as: themselves, a principal they deputise for (代理), or None."""
    if may_work(task, actor):
        return actor
    for user_id in principals_of(session, actor.id, clock.now()):
        principal = load_actor(session=session, user_id=user_id)
        if principal is not None and may_work(task, principal):
            return principal
    return None


def _subject(instance: ProcessInstance, task: Task) -> str:
    return instance.subject or task.name


def _lock_mine(session: Session, runner: Runner, task_id: int, actor: Actor) -> tuple[Task, ProcessInstance, Actor]:
    """Lock a task the actor may work now (open, theirs or their principal's, not waiting on a side task)."""
    task, instance = runner.lock_task(session, task_id)
    if task.status != TaskStatus.open.value:
        raise Conflict("该任务已办结", code="task_closed")
    me = acting_as(session, task, actor)
    if me is None:
        raise Forbidden("您不是该任务的办理人", code="task_not_yours")
    if open_side_of(session, task.id) is not None:
        raise Conflict("该任务正在等待补正、加签或委派办理，暂不能操作", code="task_waiting")
    return task, instance, me


def _by(actor: Actor, me: Actor) -> dict[str, Any]:
    """The audit detail of a deputy acting for someone (X 代 Y)."""
    return {} if me.id == actor.id else {"on_behalf_of": me.username, "on_behalf_of_name": me.display_name}


def _active_user(session: Session, user_id: int, actor: Actor, code: str) -> User:
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise InvalidInput("所选人员不存在或已停用", code=code)
    if user.id == actor.id:
        raise InvalidInput("不能选择自己", code=code)
    return user


# ---- 退回 ------------------------------------------------------------------------------------------


def returnable_steps(session: Session, runner: Runner, task: Task, instance: ProcessInstance) -> list[dict[str, str]]:
    """The earlier steps an open task may be returned to, nearest first, with who did each last."""
    if task.status != TaskStatus.open.value:
        return []
    steps = runner.returnable_steps(session, instance, task)
    out = []
    for element, name in steps:
        last = _last_done(session, instance.id, element)
        holder = session.get(User, last.completed_by_id) if last is not None and last.completed_by_id else None
        out.append({"step": element, "name": name, "holder_name": holder.display_name if holder else None})
    return out


def _last_done(session: Session, instance_id: int, element: str) -> Task | None:
    return session.execute(
        select(Task).where(Task.instance_id == instance_id, Task.task_spec == element,
                           Task.status == TaskStatus.completed.value)
        .order_by(Task.completed_at.desc(), Task.id.desc()).limit(1)).scalar_one_or_none()


def _reopened(session: Session, instance_id: int, element: str) -> Task | None:
    return session.execute(
        select(Task).where(Task.instance_id == instance_id, Task.task_spec == element,
                           Task.status == TaskStatus.open.value).order_by(Task.id.desc()).limit(1)
    ).scalar_one_or_none()


def return_to(session: Session, runner: Runner, task_id: int, actor: Actor, step: str, reason: str) -> Task:
    """退回: send the instance back to an earlier step; it reopens for whoever did it last, deadline from now."""
    task, instance, me = _lock_mine(session, runner, task_id, actor)
    reason = _reason(reason, "return_reason_required", "退回理由")
    if not runner.may_return_from(runner.definition(session, instance.definition_id), task.task_spec):
        raise Forbidden(f"流程设计不允许从“{task.name}”退回", code="return_not_allowed")
    last = _last_done(session, instance.id, step)
    now = clock.now()
    audit.append(session, at=now, actor=actor.username, action="task.returned", entity_type="task",
                 entity_id=task.id, instance_id=instance.id,
                 detail={"task": task.name, "to_step": step, "to_name": last.name if last else step,
                         "reason": reason, **_by(actor, me)})
    runner.reset_instance(session, instance, step, actor.username, from_task=task)
    reopened = _reopened(session, instance.id, step)
    if reopened is None:  # pragma: no cover - the engine reopened a step the runner did not project
        raise Conflict("流程无法回到所选步骤", code="step_not_returnable")
    if last is not None and last.completed_by_id is not None:
        reopened.assignee_id = last.completed_by_id
        session.add(reopened)
        notify(session, user_ids=[last.completed_by_id], kind="task_returned", title=f"退回：{reopened.name}",
               body=f"{actor.display_name}将“{_subject(instance, task)}”退回至“{reopened.name}”，理由：{reason}",
               link=f"/tasks/{reopened.id}", dedupe_key=f"returned:{reopened.id}", at=now)
    session.commit()
    return reopened


# ---- 撤回 ------------------------------------------------------------------------------------------


def withdrawable(session: Session, task: Task, actor: Actor) -> str | None:
    """Return why the actor cannot withdraw this completed task (None: they can)."""
    if task.status != TaskStatus.completed.value or task.completed_by_id != actor.id:
        return "只能撤回本人已办理的任务"
    instance = session.get(ProcessInstance, task.instance_id)
    if instance is None or instance.status != InstanceStatus.running.value:
        return "流程已办结，不能撤回"
    later = session.execute(select(Task.id).where(
        Task.instance_id == task.instance_id, Task.id != task.id, Task.status == TaskStatus.completed.value,
        or_(Task.completed_at > task.completed_at,
            and_(Task.completed_at == task.completed_at, Task.id > task.id))).limit(1)).first()
    if later is not None:
        return "下一步骤已办理，不能撤回"
    opened = session.execute(select(Task).where(Task.instance_id == task.instance_id,
                                                Task.status == TaskStatus.open.value)).scalars().all()
    if any(t.assignee_id is not None for t in opened):
        return "下一步骤已签收，不能撤回"
    if any(open_side_of(session, t.id) is not None for t in opened):
        return "下一步骤已发起补正、加签或委派，不能撤回"
    return None


def withdraw(session: Session, runner: Runner, task_id: int, actor: Actor) -> Task:
    """撤回: take back my completed step while the next one has not been acted on; it reopens for me."""
    task, instance = runner.lock_task(session, task_id)
    if task.status != TaskStatus.completed.value:
        raise Conflict("该任务尚未办理，无需撤回", code="task_not_completed")
    if task.completed_by_id != actor.id:
        raise Forbidden("只能撤回本人已办理的任务", code="withdraw_not_yours")
    why = withdrawable(session, task, actor)
    if why is not None:
        raise Conflict(why, code="withdraw_too_late")
    now = clock.now()
    audit.append(session, at=now, actor=actor.username, action="task.withdrawn", entity_type="task",
                 entity_id=task.id, instance_id=instance.id, detail={"task": task.name, "task_spec": task.task_spec})
    runner.reset_instance(session, instance, task.task_spec, actor.username)
    reopened = _reopened(session, instance.id, task.task_spec)
    if reopened is None:  # pragma: no cover
        raise Conflict("流程无法回到该步骤", code="step_not_returnable")
    reopened.assignee_id = actor.id
    session.add(reopened)
    session.commit()
    return reopened


# ---- side tasks: 补正, 加签, 委派 ---------------------------------------------------------------------

_REQUESTED = {SideKind.supplement: "task.supplement_requested", SideKind.addsign_before: "task.addsign_requested",
              SideKind.addsign_after: "task.addsign_requested", SideKind.delegate: "task.delegated"}
_ANSWERED = {SideKind.supplement: "task.supplemented", SideKind.addsign_before: "task.addsign_signed",
             SideKind.addsign_after: "task.addsign_signed", SideKind.delegate: "task.delegate_answered"}


def _open_side(session: Session, task: Task, instance: ProcessInstance, actor: Actor, me: Actor, kind: SideKind,
               target: User, reason: str, data: dict[str, Any] | None = None) -> TaskSide:
    now = clock.now()
    # The task stays with its holder: it comes back to the same person.
    task.assignee_id = me.id
    session.add(task)
    side = TaskSide(task_id=task.id, instance_id=instance.id, kind=kind.value, assignee_id=target.id,
                    requested_by_id=me.id, reason=reason, data=data, status=SideStatus.open.value, created_at=now)
    session.add(side)
    session.flush()
    detail: dict[str, Any] = {"task": task.name, "to": target.username, "to_name": target.display_name,
                              "reason": reason, "side_task_id": side.id, **_by(actor, me)}
    if data is not None:
        detail["data"] = data
    audit.append(session, at=now, actor=actor.username, action=_REQUESTED[kind], entity_type="task",
                 entity_id=task.id, instance_id=instance.id, detail=detail)
    titles = {SideKind.supplement: "请补正", SideKind.addsign_before: "请加签", SideKind.addsign_after: "请加签",
              SideKind.delegate: "委派给您"}
    notify(session, user_ids=[target.id], kind=f"side_{kind.value}", title=f"{titles[kind]}：{_subject(instance, task)}",
           body=f"{actor.display_name}：{reason}", link=f"/side-tasks/{side.id}",
           dedupe_key=f"side:{side.id}", at=now)
    return side


def request_supplement(session: Session, runner: Runner, task_id: int, actor: Actor, reason: str) -> TaskSide:
    """退回给申请人补正: the task waits (deadline paused as 挂起 does) until the initiator answers."""
    task, instance, me = _lock_mine(session, runner, task_id, actor)
    reason = _reason(reason, "supplement_reason_required", "补正要求")
    if instance.started_by_id is None:
        raise Conflict("该流程由系统发起，没有可补正的申请人", code="no_applicant")
    applicant = session.get(User, instance.started_by_id)
    if applicant is None or not applicant.is_active:
        raise Conflict("申请人账号已停用，不能退回补正", code="no_applicant")
    if task.paused_at is None:
        task.paused_at = clock.now()
        task.pause_reason = f"退回申请人补正：{reason}"[:500]
    side = _open_side(session, task, instance, actor, me, SideKind.supplement, applicant, reason)
    session.commit()
    return side


def add_signer(session: Session, runner: Runner, task_id: int, actor: Actor, user_id: int, reason: str,
               position: str = "before", data: Any = None) -> TaskSide:
    """加签: a colleague signs before me (the task comes back to me) or after me (it completes when they sign)."""
    task, instance, me = _lock_mine(session, runner, task_id, actor)
    if position not in ("before", "after"):
        raise InvalidInput("加签方式只能是“在我之前”或“在我之后”", code="addsign_position_invalid")
    target = _active_user(session, user_id, actor, "addsign_target_invalid")
    reason = _reason(reason, "addsign_reason_required", "加签说明")
    if position == "after":
        # My decision is checked and kept now; the engine task completes with it once they sign.
        clean = forms.validate(task.form, data if data is not None else {})
        side = _open_side(session, task, instance, actor, me, SideKind.addsign_after, target, reason, clean)
    else:
        side = _open_side(session, task, instance, actor, me, SideKind.addsign_before, target, reason)
    session.commit()
    return side


def delegate(session: Session, runner: Runner, task_id: int, actor: Actor, user_id: int, reason: str) -> TaskSide:
    """委派: a colleague drafts the opinion; the task then comes back to me to confirm."""
    task, instance, me = _lock_mine(session, runner, task_id, actor)
    target = _active_user(session, user_id, actor, "delegate_target_invalid")
    reason = _reason(reason, "delegate_reason_required", "委派说明")
    side = _open_side(session, task, instance, actor, me, SideKind.delegate, target, reason)
    session.commit()
    return side


def get_side_for(session: Session, side_task_id: int, actor: Actor) -> TaskSide:
    """Return a side task its assignee or requester may read, or 404 alike for a missing or hidden one."""
    side = session.get(TaskSide, side_task_id)
    if side is None or actor.id not in (side.assignee_id, side.requested_by_id):
        raise NotFound("事项不存在", code="side_task_not_found")
    return side


def answer(session: Session, runner: Runner, side_task_id: int, actor: Actor, reply: str,
           calendar: WorkdayCalendar) -> TaskSide:
    """Answer a side task (补正 text, 加签 opinion, 委派 opinion): the waiting task comes back to its holder."""
    side = session.execute(select(TaskSide).where(TaskSide.id == side_task_id).with_for_update()
                           .execution_options(populate_existing=True)).scalar_one_or_none()
    if side is None or side.assignee_id != actor.id:
        raise NotFound("事项不存在", code="side_task_not_found")
    if side.status != SideStatus.open.value:
        raise Conflict("该事项已办理", code="side_task_closed")
    kind = SideKind(side.kind)
    reply = _reason(reply, "reply_required", "补正内容" if kind == SideKind.supplement else "意见")
    task, instance = runner.lock_task(session, side.task_id)
    if task.status != TaskStatus.open.value:
        raise Conflict("相关任务已结束，无需再办理", code="task_closed")
    now = clock.now()
    side.reply, side.status, side.answered_at = reply, SideStatus.answered.value, now
    session.add(side)
    audit.append(session, at=now, actor=actor.username, action=_ANSWERED[kind], entity_type="task",
                 entity_id=task.id, instance_id=instance.id,
                 detail={"task": task.name, "reply": reply, "side_task_id": side.id, "kind": kind.value})
    if kind == SideKind.supplement and task.paused_at is not None:
        # As 恢复 does: the deadline moves by the working days the applicant took.
        shift = paused_working_days(calendar, task.paused_at, now)
        if task.due_working_days is not None:
            task.paused_working_days += shift
            due = recompute_due(calendar, task.due_start, task.due_working_days, task.paused_working_days)
            task.due_at, task.due_provisional = due.due_at, due.provisional
        task.paused_at, task.pause_reason = None, None
        session.add(task)
    holder = load_actor(session=session, user_id=side.requested_by_id)
    if kind == SideKind.addsign_after:
        if holder is None:
            raise Conflict("原办理人账号已停用，无法完成加签后的办理", code="holder_inactive")
        session.flush()
        runner.complete_task(session, task.id, side.data or {}, holder, locked=(task, instance))
    else:
        words = {SideKind.supplement: "申请人已补正", SideKind.addsign_before: "加签人已签署意见",
                 SideKind.delegate: "受委派人已填写意见，请确认"}[kind]
        notify(session, user_ids=[side.requested_by_id], kind=f"side_{kind.value}_answered",
               title=f"{words}：{_subject(instance, task)}", body=f"{actor.display_name}：{reply}",
               link=f"/tasks/{task.id}", dedupe_key=f"side-answered:{side.id}", at=now)
    session.commit()
    return side


@hooks.on_task_closed
def _close_side_tasks(*, session: Session, task: Task, at: datetime) -> None:
    """A task done or withdrawn (instance cancelled, timer, 退回) leaves nothing to answer about it."""
    if known_without_open_side(session, task.id or 0):
        return  # the completion checked under the lock: nothing to close
    session.execute(update(TaskSide).where(TaskSide.task_id == task.id, TaskSide.status == SideStatus.open.value)
                    .values(status=SideStatus.cancelled.value, answered_at=at)
                    .execution_options(synchronize_session=False))


# ---- 代理 ------------------------------------------------------------------------------------------


def get_deputy(session: Session, actor: Actor) -> Deputy | None:
    """Return the person's deputy setting, if any."""
    return session.execute(select(Deputy).where(Deputy.user_id == actor.id)).scalar_one_or_none()


def set_deputy(session: Session, actor: Actor, deputy_id: int, starts_on: date, ends_on: date) -> Deputy:
    """Name a deputy for a date range (inclusive); replaces an earlier setting."""
    target = _active_user(session, deputy_id, actor, "deputy_invalid")
    if ends_on < starts_on:
        raise InvalidInput("代理结束日期不能早于开始日期", code="deputy_range_invalid")
    if (ends_on - starts_on).days > 366:
        raise InvalidInput("代理期限不能超过一年", code="deputy_range_invalid")
    row = get_deputy(session, actor) or Deputy(user_id=actor.id, deputy_id=target.id, starts_on=starts_on,
                                               ends_on=ends_on, created_at=clock.now())
    row.deputy_id, row.starts_on, row.ends_on, row.created_at = target.id, starts_on, ends_on, clock.now()
    session.add(row)
    session.flush()
    now = clock.now()
    audit.append(session, at=now, actor=actor.username, action="deputy.set", entity_type="user",
                 entity_id=actor.id, detail={"deputy": target.username, "deputy_name": target.display_name,
                                             "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat()})
    notify(session, user_ids=[target.id], kind="deputy_set", title=f"{actor.display_name}请您代理其待办",
           body=f"{starts_on.isoformat()} 至 {ends_on.isoformat()}，您可在“我的待办”的“代理”部分办理其任务。",
           link="/tasks", dedupe_key=f"deputy:{row.id}:{now.timestamp():.6f}", at=now)
    session.commit()
    return row


def clear_deputy(session: Session, actor: Actor) -> None:
    """End one's deputy setting now."""
    row = get_deputy(session, actor)
    if row is None:
        return
    session.delete(row)
    audit.append(session, at=clock.now(), actor=actor.username, action="deputy.cleared", entity_type="user",
                 entity_id=actor.id, detail={})
    session.commit()


def deputy_principals(session: Session, actor: Actor) -> list[tuple[Actor, str]]:
    """The people whose tasks a deputy may work today (代理), with their names."""
    out: list[tuple[Actor, str]] = []
    for user_id in principals_of(session, actor.id, clock.now()):
        principal = load_actor(session=session, user_id=user_id)
        if principal is not None:
            out.append((principal, principal.display_name))
    return out


def complete_as_deputy(session: Session, runner: Runner, task_id: int, data: Any, actor: Actor) -> Task:
    """Complete a principal's task as their deputy; the audit records "X 代 Y"."""
    task, instance = runner.lock_task(session, task_id)
    me = acting_as(session, task, actor) if task.status == TaskStatus.open.value else None
    if me is None:
        # Not a task I deputise for: as hidden as any other task I may not see.
        raise NotFound("任务不存在", code="task_not_found")
    if me.id == actor.id:
        raise Conflict("这是您本人的任务，请直接办理", code="not_deputy_task")
    if open_side_of(session, task.id) is not None:
        raise Conflict("该任务正在等待补正、加签或委派办理，暂不能办理", code="task_waiting")
    audit.append(session, at=clock.now(), actor=actor.username, action="task.deputy_acted", entity_type="task",
                 entity_id=task.id, instance_id=instance.id, detail={"task": task.name, **_by(actor, me)})
    done = runner.complete_task(session, task.id, data, me, locked=(task, instance))
    session.commit()
    return done

