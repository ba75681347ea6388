"""Trial-run pages (试运行) of the designer area: list and start trial runs, act a task as a role, act as the
outside system for an external task, discard."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from app.audit.service import trail
from app.core.errors import DomainError, Forbidden, InvalidInput
from app.deps import RuntimeDep, SessionDep
from app.designer import trials
from app.engine.forms import public_form
from app.engine.models import ProcessDefinition
from app.org.service import Actor
from app.web import FormData, PageUser
from app.web.render import flash_redirect, render

router = APIRouter(include_in_schema=False)

VARIABLES_HINT = '流程变量，JSON 对象，例如 {"share_type": "conditional", "provider_department": "410000-gat", ' \
                 '"items": ["姓名", "身份证号"]}'


def _designer(actor: Actor) -> None:
    if not actor.has_role("designer", "admin"):
        raise Forbidden("只有流程设计员和系统管理员可以试运行流程", code="role_required")


def _processes(session: SessionDep) -> list[dict[str, Any]]:
    rows = session.execute(select(ProcessDefinition.process_key, ProcessDefinition.name, ProcessDefinition.version)
                           .order_by(ProcessDefinition.process_key, ProcessDefinition.version.desc())).all()
    out: dict[str, dict[str, Any]] = {}
    for key, name, version in rows:
        out.setdefault(key, {"key": key, "name": name, "versions": []})["versions"].append(version)
    return list(out.values())


def _list_page(request: Request, session: SessionDep, rt: RuntimeDep, actor: Actor,
               extra: dict[str, Any] | None = None, status: int = 200) -> Response:
    return render(request, "designer/trials.html", {
        "trials": trials.list_trials(session=session, runner=rt.runner, actor=actor),
        "processes": _processes(session), "hint": VARIABLES_HINT, "submitted": {}, **(extra or {})},
        status=status)


@router.get("/designer/trials", response_class=HTMLResponse)
def trials_page(request: Request, session: SessionDep, rt: RuntimeDep, actor: PageUser, process_key: str = "",
                version: str = "") -> Response:
    """List trial runs and offer the form to start one (the workspace's 试运行 link preselects a version)."""
    _designer(actor)
    # Only preselects an option that exists: nothing from the URL is shown as text.
    return _list_page(request, session, rt, actor, {"submitted": {"process_key": process_key[:128],
                                                                  "version": version[:12]}})


@router.post("/designer/trials")
def start_trial(request: Request, session: SessionDep, rt: RuntimeDep, actor: PageUser,
                form: FormData) -> Response:
    """Start a trial run from the form: process, version (empty: the newest), variables as JSON."""
    _designer(actor)
    submitted = {k: str(form.get(k) or "") for k in ("process_key", "version", "variables")}
    try:
        variables = _variables(submitted["variables"])
        version = _version(submitted["version"])
        instance = trials.start(session, rt.runner, submitted["process_key"].strip(), variables=variables,
                                version=version, actor=actor)
    except DomainError as exc:
        session.rollback()
        if exc.status_code not in (404, 422):
            raise
        return _list_page(request, session, rt, actor, {"error": exc.to_detail(), "submitted": submitted},
                          status=exc.status_code)
    return flash_redirect(request, f"/designer/trials/{instance.id}", "试运行已启动")


def _variables(text: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        line, column = getattr(exc, "lineno", 1), getattr(exc, "colno", 1)
        raise InvalidInput(f"流程变量不是有效的 JSON：第 {line} 行第 {column} 列附近有误",
                           code="variables_not_json") from None
    if not isinstance(value, dict):
        raise InvalidInput("流程变量必须是 JSON 对象（用花括号 {} 括起）", code="variables_not_object")
    return value


def _version(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or not 0 < int(text) <= 1_000_000:
        raise InvalidInput("版本号必须是正整数", code="version_invalid")
    return int(text)


def _json_text(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent, default=str)


def _trial_context(session: SessionDep, rt: RuntimeDep, actor: Actor, instance_id: int) -> dict[str, Any]:
    instance = trials.get_trial(session=session, instance_id=instance_id, actor=actor)
    public = trials.trial_public(session=session, runner=rt.runner, instance=instance)
    for task in public["open_tasks"]:
        task["form"] = public_form(task["form"])
    for ext in public["open_external_tasks"]:
        ext["variables_text"] = _json_text(ext["variables"], indent=2) if ext["variables"] else ""
    history = trail(session, instance.id, "process_instance", instance.id or 0)
    for line in history:
        detail = line.get("detail") or {}
        role = detail.get("as_role")
        if role:
            line["as_role_label"] = trials.role_label(str(role))
        if detail.get("trial") and isinstance(detail.get("variables"), dict) and detail["variables"]:
            line["variables_text"] = "；".join(f"{k}={_json_text(v)}" for k, v in detail["variables"].items())
    return {"trial": public, "history": history, "diagram_instance_id": instance.id}


@router.get("/designer/trials/{instance_id}", response_class=HTMLResponse)
def trial_page(request: Request, instance_id: int, session: SessionDep, rt: RuntimeDep,
               actor: PageUser) -> Response:
    """Show a trial run: status, open tasks each with a role to act as and its form, history, diagram."""
    _designer(actor)
    return render(request, "designer/trial.html", _trial_context(session, rt, actor, instance_id))


@router.post("/designer/trials/{instance_id}/tasks/{task_id}/complete")
def complete_as(request: Request, instance_id: int, task_id: int, session: SessionDep, rt: RuntimeDep,
                actor: PageUser, form: FormData) -> Response:
    """Act one task of the trial as the chosen role; errors re-show the page with what was typed."""
    _designer(actor)
    ctx = _trial_context(session, rt, actor, instance_id)
    task = next((t for t in ctx["trial"]["open_tasks"] if t["id"] == task_id), None)
    if task is None:
        return flash_redirect(request, f"/designer/trials/{instance_id}", "该任务已办理或已撤销，页面已刷新")
    multiple = {f["id"] for f in task["form"] if f["multiple"]}
    role = form.pop("role", "")
    data = {k: ([v] if k in multiple and isinstance(v, str) else v) for k, v in form.items()}
    try:
        trials.complete_as(session, rt.runner, task_id, role=role, data=data, actor=actor)
    except DomainError as exc:
        session.rollback()
        if exc.status_code != 422:
            raise
        ctx = _trial_context(session, rt, actor, instance_id)
        ctx.update({"error": exc.to_detail(), "error_task_id": task_id, "submitted": data, "submitted_role": role})
        return render(request, "designer/trial.html", ctx, status=422)
    label = trials.role_label(str(role))
    return flash_redirect(request, f"/designer/trials/{instance_id}", "已以{role}身份办理“{task}”", role=label, task=task["name"])


def _external_action(request: Request, session: SessionDep, rt: RuntimeDep, actor: Actor, instance_id: int,
                     external_task_id: int, form: dict[str, Any], kind: str) -> Response:
    """Act as the outside system on one external task of the trial; errors re-show the page with what was typed."""
    ctx = _trial_context(session, rt, actor, instance_id)
    task = next((t for t in ctx["trial"]["open_external_tasks"] if t["id"] == external_task_id), None)
    if task is None:
        return flash_redirect(request, f"/designer/trials/{instance_id}", "该外部任务已处理或已撤回，页面已刷新")
    submitted = {k: str(form.get(k) or "") for k in ("variables", "error_code", "error_message")}
    try:
        variables = _variables(submitted["variables"])
        if kind == "complete":
            trials.complete_external(session, rt.runner, instance_id, external_task_id, variables=variables,
                                     actor=actor)
        else:
            trials.external_error(session, rt.runner, instance_id, external_task_id,
                                  error_code=submitted["error_code"], error_message=submitted["error_message"],
                                  variables=variables, actor=actor)
    except DomainError as exc:
        session.rollback()
        if exc.status_code != 422:
            raise
        ctx = _trial_context(session, rt, actor, instance_id)
        ctx.update({"error": exc.to_detail(), "error_external_id": external_task_id, "error_kind": kind,
                    "submitted": submitted})
        return render(request, "designer/trial.html", ctx, status=422)
    if kind == "complete":
        return flash_redirect(request, f"/designer/trials/{instance_id}", "已模拟外部系统完成“{task}”",
                              task=task["name"])
    return flash_redirect(request, f"/designer/trials/{instance_id}", "已模拟外部系统对“{task}”报告业务错误 {code}",
                          task=task["name"], code=submitted["error_code"].strip())


@router.post("/designer/trials/{instance_id}/external-tasks/{external_task_id}/complete")
def complete_external(request: Request, instance_id: int, external_task_id: int, session: SessionDep,
                      rt: RuntimeDep, actor: PageUser, form: FormData) -> Response:
    """Act as the outside system: complete an external task of the trial with variables (JSON)."""
    _designer(actor)
    return _external_action(request, session, rt, actor, instance_id, external_task_id, form, "complete")


@router.post("/designer/trials/{instance_id}/external-tasks/{external_task_id}/bpmn-error")
def external_error(request: Request, instance_id: int, external_task_id: int, session: SessionDep,
                   rt: RuntimeDep, actor: PageUser, form: FormData) -> Response:
    """Act as the outside system: raise a BPMN error (code, message, variables) on an external task of the trial."""
    _designer(actor)
    return _external_action(request, session, rt, actor, instance_id, external_task_id, form, "bpmn-error")


@router.post("/designer/trials/{instance_id}/cancel")
def cancel(request: Request, instance_id: int, session: SessionDep, rt: RuntimeDep, actor: PageUser,
           form: FormData) -> Response:
    """Discard a running trial run."""
    _designer(actor)
    trials.cancel(session, rt.runner, instance_id, actor)
    return flash_redirect(request, f"/designer/trials/{instance_id}", "已放弃本次试运行")
