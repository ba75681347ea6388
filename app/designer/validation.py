"""Everything a deploy would refuse, collected as problems naming their BPMN elements.

The engine's lint (app/engine/bpmn.py) runs first; the checks the engine cannot make alone follow:
deadlines against the statutory settings, candidate roles against the organisation's roles, form
fields against what app/engine/forms.py handles, and the code/BPMN contract (app/designer/contract.py).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from app.core.config import Settings
from app.core.errors import InvalidInput
from app.designer.contract import contract_for
from app.engine.bpmn import (
    BPMN_NS,
    UserTaskMeta,
    compile_definition,
    deployed_identity,
    parse_xml,
    running_pools,
    user_task_metas,
)
from app.engine.errors import BpmnRejected
from app.engine.restricted import assigned_names
from app.org.models import ROLE_ZH, Role
from app.workdays.service import check_due

# A BPMN file a person draws stays far below this (the largest shipped file is ~35 KB); the request
# body limit (max_body_bytes, 1 MiB) is above it so that the refusal is this clear one.
MAX_BPMN_BYTES = 768 * 1024

# Roles that work tasks in a department's inbox. designer and admin configure the service and never
# hold a case's task.
CANDIDATE_ROLES: tuple[Role, ...] = (Role.clerk, Role.reviewer, Role.authority_reviewer, Role.supervisor,
                                     Role.head)

# The field types app/engine/forms.py validates and coerces.
FORM_TYPES: dict[str, str] = {"string": "文本", "long": "整数", "boolean": "是/否", "date": "日期",
                              "enum": "选项", "json": "结构化数据（JSON）"}

Problem = dict[str, Any]


def _problem(element_id: str | None, message: str, code: str) -> Problem:
    return {"element_id": element_id, "message": message, "code": code}


def guard(xml: bytes) -> Any:
    """Refuse what must never be saved (oversize, not well-formed, DOCTYPE/entities); return the parsed root."""
    if len(xml) > MAX_BPMN_BYTES:
        raise InvalidInput(f"流程文件过大（{len(xml) // 1024} KB），上限为 {MAX_BPMN_BYTES // 1024} KB",
                           code="bpmn_too_large")
    if not xml.strip():
        raise BpmnRejected([(None, "流程文件为空", "xml_invalid")])
    return parse_xml(xml)


def check(xml: bytes, settings: Settings) -> tuple[list[Problem], list[dict[str, str]]]:
    """Return (problems, system_bound) of a BPMN file; raise only when it must not be saved at all."""
    root = guard(xml)
    problems: list[Problem] = []
    try:
        compile_definition(xml)
    except BpmnRejected as exc:
        problems.extend(_problem(*p) for p in exc.problems)
    pools = running_pools(root)  # the executable process, or each executable pool of a collaboration
    identity = deployed_identity(root)
    if not pools or identity is None:
        return _dedupe(problems), []
    metas = {task_id: meta for process in pools for task_id, meta in user_task_metas(process).items()}
    for task_id, meta in metas.items():
        problems.extend(_task_problems(task_id, meta, settings))
    contract_problems, bound = _contract(identity[0], metas, pools[0] if len(pools) == 1 else root)
    problems.extend(contract_problems)
    return _dedupe(problems), bound


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[Any, ...]] = set()
    out = []
    for p in problems:
        key = (p["element_id"], p["message"], p["code"])
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def _task_problems(task_id: str, meta: UserTaskMeta, settings: Settings) -> list[Problem]:
    out: list[Problem] = []
    where = f"用户任务“{meta.name}”（{task_id}）"
    due = check_due(dataclasses.asdict(meta), settings)
    if due:
        out.append(_problem(task_id, f"{where}：{due}", "deadline"))
    known = {r.value for r in CANDIDATE_ROLES}
    for group in meta.candidate_groups:
        if group not in known:
            names = "、".join(f"{ROLE_ZH[r]}（{r.value}）" for r in CANDIDATE_ROLES)
            out.append(_problem(task_id, f"{where}：候选角色“{group}”不是系统中可办理任务的角色，可选：{names}",
                                "role"))
    seen: set[str] = set()
    for field in meta.form:
        label = f"表单字段“{field.label or field.id}”"
        if not field.id.isidentifier():
            out.append(_problem(task_id, f"{where}：{label}的 id“{field.id}”无效：须以字母或下划线开头，"
                                         "只含字母、数字和下划线", "form"))
        elif field.id in seen:
            out.append(_problem(task_id, f"{where}：表单字段 id“{field.id}”重复", "form"))
        seen.add(field.id)
        if field.type not in FORM_TYPES:
            kinds = "、".join(f"{name}（{key}）" for key, name in FORM_TYPES.items())
            out.append(_problem(task_id, f"{where}：{label}的类型“{field.type}”不受支持，可选：{kinds}", "form"))
        elif field.type == "enum" and not field.options and not field.properties.get("options_from"):
            out.append(_problem(task_id, f"{where}：{label}是选项类型，但没有任何选项", "form"))
    return out


def _contract(process_key: str | None, metas: dict[str, UserTaskMeta], process: Any = None
              ) -> tuple[list[Problem], list[dict[str, str]]]:
    contract = contract_for(process_key)
    if contract is None:
        return [], []
    problems: list[Problem] = []
    bound: list[dict[str, str]] = []
    for task in contract.tasks:
        meta = metas.get(task.task_id)
        if meta is None:
            problems.append(_problem(
                task.task_id, f"系统绑定的用户任务“{task.task_id}”不存在（被删除或改了 id）：{task.used_by} "
                              f"按此 id 处理它（{task.purpose}）；请恢复该任务或保留原 id", "contract"))
            continue
        bound.append({"element_id": task.task_id, "reason": f"{task.used_by} 使用：{task.purpose}"})
        department = meta.properties.get("department") or None
        if task.department is not None and department != task.department:
            problems.append(_problem(
                task.task_id, f"用户任务“{meta.name}”（{task.task_id}）的扩展属性 department 必须是"
                              f"“{task.department}”（实际为“{department or '未设置'}”）：{task.used_by} 启动流程时"
                              "只提供这个变量作为办理部门", "contract"))
        fields = {f.id for f in meta.form}
        missing = [f for f in task.fields if f not in fields]
        if missing:
            problems.append(_problem(
                task.task_id, f"用户任务“{meta.name}”（{task.task_id}）缺少系统使用的表单字段"
                              f"“{'、'.join(missing)}”：{task.used_by} 读取这些字段（{task.purpose}）", "contract"))
    if process is not None and contract.assigns:
        assigned = _script_assignments(process)
        for name, why in contract.assigns:
            if name not in assigned:
                problems.append(_problem(None, f"没有任何脚本任务给变量“{name}”赋值：{why}", "contract"))
    return problems, bound


def _script_assignments(process: Any) -> set[str]:
    names: set[str] = set()
    for script in process.iter(f"{{{BPMN_NS}}}script"):
        try:
            names |= assigned_names(script.text or "")
        except SyntaxError:
            continue  # the lint reports the script itself
    return names


def system_bound(xml: bytes) -> list[dict[str, str]]:
    """Return the elements of a (well-formed) file the code needs, with why; [] when unreadable."""
    try:
        root = parse_xml(xml)
    except BpmnRejected:
        return []
    identity = deployed_identity(root)
    if identity is None:
        return []
    metas = {task_id: meta for process in running_pools(root) for task_id, meta in user_task_metas(process).items()}
    return _contract(identity[0], metas)[1]


def bound_by_process() -> dict[str, list[dict[str, str]]]:
    """Return, per process with a contract, every element the code needs and why (the vocabulary)."""
    from app.designer.contract import CONTRACTS

    return {key: [{"element_id": t.task_id, "reason": f"{t.used_by} 使用：{t.purpose}"} for t in c.tasks]
            for key, c in CONTRACTS.items()}
