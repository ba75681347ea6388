"""The 流程图 of an instance: its BPMN with the steps finished, the steps waiting (who holds them,
until when), the sequence flows taken, and the history lines of each step.

Three sources, because none is complete alone: the engine's tree (pruned before every save: finished
loop iterations and finished subprocesses are gone), the task rows (every human step ever created,
kept for good), and the audit trail (who did what, when). What the pruned tree forgot between two
known steps is filled in from the graph: a step a token passes without waiting (gateway, script,
end event) is reached once the step before it completed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from app.audit.labels import action_label
from app.audit.models import AuditEvent
from app.audit.service import actor_names
from app.core.clock import SHANGHAI
from app.engine.diagram import GATEWAYS, PASS_THROUGH, Graph, graph, tree_progress
from app.engine.models import ProcessDefinition, ProcessInstance, Task, TaskStatus
from app.engine.runner import Runner
from app.org.models import ROLE_ZH, Department, User
from app.tasks.service import deadline_fields
from app.workdays.calendar import WorkdayCalendar

_ASSIGNEE = aliased(User, name="diagram_assignee")
_COMPLETER = aliased(User, name="diagram_completer")
_CONTAINERS = frozenset({"subProcess", "transaction", "adHocSubProcess"})
_MAX_VALUE = 60  # characters of one form value in a history line


def instance_diagram(*, session: Session, runner: Runner, instance: ProcessInstance,
                     calendar: WorkdayCalendar, now: datetime) -> dict[str, Any]:
    """Return the diagram API's answer for an instance the caller may read."""
    info = runner.definition(session, instance.definition_id)
    xml = bytes(session.execute(select(ProcessDefinition.bpmn_xml)
                                .where(ProcessDefinition.id == info.id)).scalar_one())
    g = graph(info.content_hash, xml)
    workflow = runner.engine.restore(instance.state, info.content_hash, xml, runner.called(session, info))
    tree = tree_progress(workflow, g.nodes)

    rows = session.execute(
        select(Task, Department.name, _ASSIGNEE.display_name, _COMPLETER.display_name)
        .outerjoin(Department, Department.id == Task.department_id)
        .outerjoin(_ASSIGNEE, _ASSIGNEE.id == Task.assignee_id)
        .outerjoin(_COMPLETER, _COMPLETER.id == Task.completed_by_id)
        .where(Task.instance_id == instance.id).order_by(Task.id)
    ).all()
    # A called process's tasks are not drawn in the caller's diagram (its call activity shows as active).
    rows = [row for row in rows if row[0].task_spec in g.nodes]

    completed = set(tree.completed)
    completed.update(t.task_spec for t, *_ in rows if t.status == TaskStatus.completed.value)
    open_rows = [(t, dept, holder) for t, dept, holder, _ in rows if t.status == TaskStatus.open.value]
    active = {t.task_spec for t, *_ in open_rows}
    # Waiting steps that are no person's task: a running subprocess, a timer or message catch event.
    active.update(e for e in tree.active if g.nodes[e].kind != "userTask")
    # Reached, then withdrawn (a task withdrawn, an activity its boundary timer interrupted): never
    # completed, so nothing is inferred beyond it, though the flow into it was taken.
    withdrawn = set(tree.withdrawn)
    withdrawn.update(t.task_spec for t, *_ in rows if t.status == TaskStatus.cancelled.value)
    withdrawn -= completed | active
    _infer(g, completed, active, withdrawn)
    # A step waiting again (a new round) was also completed before: its flows out were taken then.
    ever_completed = set(completed)
    completed -= active

    elements: dict[str, dict[str, Any]] = {}
    for element in completed:
        elements[element] = _element(g, element, "completed")
    for element in active:
        elements[element] = _element(g, element, "active")
    _hold(elements, open_rows, calendar, now)
    _done(elements, rows, calendar, now)
    _history(session, g, instance, rows, elements)

    steps = set(tree.steps)
    reached = completed | active | withdrawn
    flows = sorted(fid for fid, (source, target) in g.flows.items()
                   if (source, target) in steps or (source in ever_completed and target in reached))
    return {"instance_id": instance.id, "process_key": instance.process_key, "version": info.version,
            "status": instance.status, "xml": xml.decode("utf-8"), "elements": elements, "flows": flows}


def _infer(g: Graph, completed: set[str], active: set[str], withdrawn: set[str]) -> None:
    """Add the steps the pruned tree forgot between known ones, until nothing changes (instances saved
    before the engine kept a trail of what it pruned)."""
    changed = True
    while changed:
        changed = False
        reached = completed | active | withdrawn
        for element in list(reached):
            node = g.nodes.get(element)
            if node is None:
                continue
            scope = g.nodes.get(node.scope)
            # Inside a subprocess: the subprocess was entered. A running one is still in the tree (it
            # is never pruned), so one known only from the rows has finished.
            if scope is not None and scope.kind in _CONTAINERS and scope.id not in reached:
                completed.add(scope.id)
                changed = True
            if node.kind in _CONTAINERS:
                starts = [c for c in g.children.get(element, []) if g.nodes[c].kind == "startEvent"]
                if len(starts) == 1 and starts[0] not in reached:
                    completed.add(starts[0])
                    changed = True
            if element not in completed or (node.kind in GATEWAYS and node.kind != "parallelGateway"):
                continue  # a choosing gateway's branch is known only from where the token went next
            if node.multi_instance and element in active:
                continue  # a 会签 some have signed is still running: the token has not left it
            for _, target in g.outgoing.get(element, []):
                kind = g.nodes[target].kind if target in g.nodes else None
                if kind in PASS_THROUGH and target not in reached:
                    completed.add(target)
                    changed = True


def _element(g: Graph, element: str, state: str) -> dict[str, Any]:
    node = g.nodes[element]
    return {"state": state, "name": node.name or element, "holder": None, "due_at": None, "due_text": None,
            "history": []}


def _hold(elements: dict[str, dict[str, Any]], open_rows: list[tuple[Task, str | None, str | None]],
          calendar: WorkdayCalendar, now: datetime) -> None:
    """Put who holds each open step and until when on it (several open tasks of one step: every holder,
    the earliest deadline, overdue if one of them is)."""
    by_element: dict[str, list[tuple[Task, str | None, str | None]]] = {}
    for row in open_rows:
        by_element.setdefault(row[0].task_spec, []).append(row)
    for element, held in by_element.items():
        entry = elements[element]
        entry["holder"] = "、".join(_holder(task, dept, name) for task, dept, name in held)
        dated = [t for t, _, _ in held if t.due_at is not None]
        if not dated:
            continue
        dated.sort(key=lambda t: t.due_at or now)
        deadlines = [(t, deadline_fields(t, calendar, now)) for t in dated]
        late = [(t, f) for t, f in deadlines if f["overdue"]]
        task, fields = late[0] if late else deadlines[0]
        assert task.due_at is not None
        entry["due_at"] = task.due_at.isoformat()
        if late:
            entry["state"] = "overdue"
            entry["due_text"] = f"已超期 {max(f['overdue_working_days'] for _, f in late)} 个工作日"
        elif task.paused_at is not None:
            entry["due_text"] = "已挂起，期限暂停计算"
        elif fields["working_days_left"] == 0:
            entry["due_text"] = "今日到期"
        else:
            day = task.due_at.astimezone(SHANGHAI)
            entry["due_text"] = f"{day.month}月{day.day}日到期"


def _done(elements: dict[str, dict[str, Any]], rows: list[Any], calendar: WorkdayCalendar,
          now: datetime) -> None:
    """Put who completed a finished step (its latest task) and whether on time on it."""
    for task, _, _, completer in rows:
        entry = elements.get(task.task_spec)
        if entry is None or entry["state"] != "completed" or task.status != TaskStatus.completed.value:
            continue
        entry["holder"] = completer
        entry["due_at"] = task.due_at.isoformat() if task.due_at else None
        entry["due_text"] = deadline_fields(task, calendar, now)["deadline_label"] if task.due_at else None


def _holder(task: Task, dept_name: str | None, holder_name: str | None) -> str:
    """Say who holds an open task: the person who claimed it, else the role of its department to claim it."""
    if holder_name:
        return holder_name
    role = ROLE_ZH.get(task.role, task.role) if task.role else "办理人"  # type: ignore[call-overload]
    return f"待签收（{role}）{dept_name or ''}"


def _history(session: Session, g: Graph, instance: ProcessInstance, rows: list[Any],
             elements: dict[str, dict[str, Any]]) -> None:
    """Give each step its lines of the instance's audit trail, oldest first."""
    tasks = {str(t.id): t for t, *_ in rows}
    events = session.execute(
        select(AuditEvent.at, AuditEvent.actor, AuditEvent.action, AuditEvent.entity_type, AuditEvent.entity_id,
               AuditEvent.detail)
        .where(AuditEvent.instance_id == instance.id).order_by(AuditEvent.seq)).all()
    names = actor_names(session, {e.actor for e in events})
    top_starts = [n for n in g.children.get(instance.process_key, []) if g.nodes[n].kind == "startEvent"]
    for at, actor, action, entity_type, entity_id, detail in events:
        detail = detail or {}
        task = tasks.get(entity_id) if entity_type == "task" else None
        element = task.task_spec if task is not None else detail.get("task_spec")
        if element is None and action == "instance.started" and len(top_starts) == 1:
            element = top_starts[0]
        if element not in elements:
            continue
        elements[element]["history"].append({
            "at": at.isoformat(), "actor": names.get(actor, actor), "action": action,
            "text": _line(action, detail, task)})


def _line(action: str, detail: dict[str, Any], task: Task | None) -> str:
    """Say one audit event in a short Chinese line: what happened and what was decided."""
    text = action_label(action)
    if action == "task.completed" and task is not None and isinstance(detail.get("data"), dict):
        shown = [_field_text(f, detail["data"].get(f["id"])) for f in task.form or []]
        parts = [s for s in shown if s]
        if parts:
            text += "：" + "；".join(parts)
    elif action == "task.created" and detail.get("due_at"):
        due = datetime.fromisoformat(detail["due_at"]).astimezone(SHANGHAI)
        text += f"，期限至 {due.month}月{due.day}日"
    elif action == "task.reassigned" and detail.get("to"):
        text += f" → {detail['to']}"
    elif detail.get("reason"):
        text += f"：{_clip(str(detail['reason']))}"
    return text


def _field_text(field: dict[str, Any], value: Any) -> str | None:
    if value in (None, "", [], {}):
        return None
    if field.get("type") == "boolean":
        shown = "是" if value is True else "否"
    else:
        options = {str(o[0]): str(o[1]) for o in field.get("options") or [] if isinstance(o, (list, tuple))}
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, (dict, list)) for v in values):
            return None  # structured data (per-entry decisions): the case page shows it in full
        shown = "、".join(options.get(str(v), str(v)) for v in values)
    # A label's hint in brackets (（同意时必填）) is for the person filling the form, not for the record.
    label = str(field.get("label") or field.get("id")).split("（", 1)[0]
    return f"{label}：{_clip(shown)}"


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_VALUE else text[:_MAX_VALUE - 1] + "…"
