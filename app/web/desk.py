"""Pages of the approval desk: 抄送, 催办, 常用意见, 批量办理, saved filters, comments, attachments, 审批单."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from app.core.clock import clock
from app.core.db import Database, is_read_only
from app.core.errors import CsrfFailed, DomainError, InvalidInput
from app.core.keyset import capped_counts
from app.core.security import csrf_matches
from app.deps import RuntimeDep, SessionDep
from app.desk import flows, service
from app.engine.models import ProcessInstance, Task
from app.org.service import Actor
from app.tasks import service as task_service
from app.web import FormData, PageUser
from app.web.render import flash_redirect, render

router = APIRouter(include_in_schema=False)


def _ids(raw: Any) -> list[int]:
    values = raw if isinstance(raw, list) else ([raw] if raw else [])
    out = []
    for v in values:
        try:
            out.append(int(v))
        except (TypeError, ValueError):
            continue
    return out


def _int_or_none(raw: str | None) -> int | None:
    text = (raw or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


def _back(request: Request, fallback: str) -> str:
    # Only this site's own paths (never an open redirect).
    ref = str(request.headers.get("referer") or "")
    base = str(request.base_url)
    return ref[len(base) - 1:] if ref.startswith(base) else fallback


def task_desk_context(session: SessionDep, db: Database, actor: Actor, task: Task, instance: ProcessInstance
                      ) -> dict[str, Any]:
    """Return what the task page's desk sections show; opening the case marks the person's copy 已阅."""
    if not is_read_only(session):
        flows.mark_read(session, actor, instance_id=instance.id)
    elif flows.has_unread_copy(session, actor, instance.id or 0):
        # A page view (GET) reads on a read-only session; the one thing it records takes its own write
        # transaction, and only when there is something to record.
        with db.session() as own:
            flows.mark_read(own, actor, instance_id=instance.id)
        # End the read snapshot, so the page's lists below show the copy 已阅 (nothing to write: no lock).
        session.commit()
    return {
        "desk_comments": service.comments(session=session, instance_id=instance.id or 0),
        "desk_attachments": flows.case_attachments(session, instance.id or 0),
        "desk_copies": service.copy_recipients(session=session, instance_id=instance.id or 0),
        "desk_people": service.people(session=session) if not instance.trial else [],
        "desk_may_urge": flows.may_urge(session, actor, task, instance),
        "desk_phrases": service.phrase_texts(session=session, actor=actor),
    }


def inbox_context(session: SessionDep, actor: Actor, view: str, read: str, params: dict[str, str],
                  items: list[dict[str, Any]] | None = None, cursor: str = "") -> dict[str, Any]:
    """Return the inbox's counts per tab, saved filters, pickers, and the 抄送我的 list when that tab is open."""
    ctx: dict[str, Any] = {
        "counts": dict(zip(("done", "initiated", "cc"), capped_counts(  # the tabs' counts in one round trip
            session, task_service.done_query(actor), task_service.initiated_query(actor),
            service.unread_copies_query(actor)), strict=True)),
        "saved_filters": [service.filter_public(f, actor) for f in service.saved_filters(session=session,
                                                                                          actor=actor)],
        "initiator_choices": service.initiators(session=session, actor=actor, selected=_int_or_none(
            params.get("initiator_id"))),
        "department_choices": service.departments(session=session),
        "current_query": service.clean_query(urlencode({k: v for k, v in params.items() if v})),
        "read": read,
    }
    if view == "cc":
        flag = {"1": True, "0": False}.get(read)
        try:
            ctx["copies"], next_cursor = service.copies_for(session=session, actor=actor, read=flag,
                                                            cursor=cursor or None)
        except InvalidInput:
            ctx["copies"], next_cursor = service.copies_for(session=session, actor=actor, read=flag)
        kept = {"view": "cc", **({"read": read} if read in ("0", "1") else {})}
        if next_cursor:
            ctx["next_url"] = f"/tasks?{urlencode({**kept, 'cursor': next_cursor})}"
        ctx["first_url"] = f"/tasks?{urlencode(kept)}"
    if view == "todo":
        ctx["batch_options"] = _batch_options(items or [])
    return ctx


def _batch_options(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Which 待办 rows of the page shown may be batch-completed, and the decisions offered (the union of their
    options). Every 待办 row is an open task of the person's department and roles, unclaimed or theirs (the
    view's own condition), so only its form decides: read with the page's rows (`form_json`), each distinct
    form parsed once, no statement of its own."""
    from app.engine.hooks import hooks

    fit: set[int] = set()
    options: dict[str, str] = {}
    for item in items:
        decisions = _batch_decisions(item.get("form_json"), (item["process_key"], item["task_spec"]) in hooks.validators)
        if decisions is None:
            continue
        fit.add(int(item["id"]))
        for value, label in decisions:
            options.setdefault(value, label)
    return {"fit": fit, "decisions": list(options.items())}


@lru_cache(maxsize=512)
def _batch_decisions(form_json: str | None, validated: bool) -> tuple[tuple[str, str], ...] | None:
    """Return the decisions a batch may give a task of this form (its stored JSON text), None if unfit."""
    fields = service.batch_fields((json.loads(form_json) if form_json else None) or [], validated=validated)
    if fields is None:
        return None
    return tuple((o[0], o[1]) for o in fields[0].get("options") or [])


@router.post("/tasks/batch", response_class=HTMLResponse)
def batch(request: Request, session: SessionDep, rt: RuntimeDep, actor: PageUser, form: FormData) -> Response:
    """批量办理 the ticked 待办 with one decision and opinion; show what was done and what was not, and why."""
    try:
        results = flows.batch_complete(session, rt.runner, actor, _ids(form.get("task_ids")),
                                       str(form.get("decision") or ""), str(form.get("opinion") or ""))
    except DomainError as exc:
        return flash_redirect(request, "/tasks?view=todo", exc.message_zh)
    # The header's 待办 count was read before the batch: show what is left now.
    request.state.page_context["todo_count"] = task_service.count_todo(session=session, actor=actor)
    return render(request, "tasks/batch_result.html", {"results": results,
                                                       "ok": [r for r in results if r["ok"]],
                                                       "failed": [r for r in results if not r["ok"]]})


@router.post("/tasks/{task_id}/copy")
def copy_case(request: Request, task_id: int, session: SessionDep, actor: PageUser, form: FormData) -> Response:
    """抄送 the case of a task to the people picked."""
    _, instance = task_service.get_visible(session=session, task_id=task_id, actor=actor)
    try:
        names = flows.copy_case(session, actor, instance.id or 0, _ids(form.get("user_ids")),
                                str(form.get("note") or ""))
    except DomainError as exc:
        if exc.status_code != 422:
            raise
        return flash_redirect(request, f"/tasks/{task_id}", exc.message_zh)
    if names:
        return flash_redirect(request, f"/tasks/{task_id}", "已抄送给{names}", names="、".join(names))
    return flash_redirect(request, f"/tasks/{task_id}", "所选人员均已抄送过，未重复抄送")


@router.post("/tasks/{task_id}/urge")
def urge(request: Request, task_id: int, session: SessionDep, rt: RuntimeDep, actor: PageUser,
         form: FormData) -> Response:
    """催办 an open task of one's case."""
    back = _back(request, f"/tasks/{task_id}")
    try:
        flows.urge(session, actor, rt.calendar.get(session), task_id)
    except DomainError as exc:
        if exc.status_code == 404:
            raise
        return flash_redirect(request, back, exc.message_zh)
    return flash_redirect(request, back, "已催办，办理人将收到提醒")


@router.post("/copies/{copy_id}/read")
def mark_read(request: Request, copy_id: int, session: SessionDep, actor: PageUser, form: FormData) -> Response:
    """标为已阅."""
    flows.mark_read(session, actor, copy_id=copy_id)
    return flash_redirect(request, _back(request, "/tasks?view=cc"), "已标为已阅")


@router.get("/me/phrases", response_class=HTMLResponse)
def phrases_page(request: Request, session: SessionDep, actor: PageUser) -> Response:
    """Manage my 常用意见."""
    return render(request, "tasks/phrases.html", {"phrases": service.phrases(session=session, actor=actor),
                                                  "defaults": service.DEFAULT_PHRASES})


@router.post("/me/phrases")
def add_phrase(request: Request, session: SessionDep, actor: PageUser, form: FormData) -> Response:
    """Save a phrase."""
    try:
        flows.add_phrase(session, actor, str(form.get("text") or ""))
    except DomainError as exc:
        return flash_redirect(request, "/me/phrases", exc.message_zh)
    return flash_redirect(request, "/me/phrases", "已保存常用意见")


@router.post("/me/phrases/{phrase_id}/delete")
def delete_phrase(request: Request, phrase_id: int, session: SessionDep, actor: PageUser,
                  form: FormData) -> Response:
    """Delete a phrase."""
    flows.delete_phrase(session, actor, phrase_id)
    return flash_redirect(request, "/me/phrases", "已删除")


@router.post("/me/filters")
def save_filter(request: Request, session: SessionDep, actor: PageUser, form: FormData) -> Response:
    """Save the inbox's current filter under a name."""
    query = str(form.get("query") or "")
    try:
        flows.save_filter(session, actor, str(form.get("name") or ""), query, form.get("shared") == "1")
    except DomainError as exc:
        return flash_redirect(request, f"/tasks?{service.clean_query(query)}", exc.message_zh)
    return flash_redirect(request, f"/tasks?{service.clean_query(query)}", "已保存筛选")


@router.post("/me/filters/{filter_id}/delete")
def delete_filter(request: Request, filter_id: int, session: SessionDep, actor: PageUser,
                  form: FormData) -> Response:
    """Delete a saved filter."""
    flows.delete_filter(session, actor, filter_id)
    return flash_redirect(request, "/tasks", "已删除筛选")


@router.post("/tasks/{task_id}/comments")
def comment(request: Request, task_id: int, session: SessionDep, actor: PageUser, form: FormData) -> Response:
    """Comment on a task's case."""
    try:
        flows.comment(session, actor, task_id, str(form.get("body") or ""))
    except DomainError as exc:
        if exc.status_code != 422:
            raise
        return flash_redirect(request, f"/tasks/{task_id}#desk", exc.message_zh)
    return flash_redirect(request, f"/tasks/{task_id}#desk", "评论已发表")


@router.post("/tasks/{task_id}/attachments")
async def attach(request: Request, task_id: int, session: SessionDep, rt: RuntimeDep,
                 actor: PageUser) -> Response:
    """Attach a file to a task's case (multipart form with the CSRF token)."""
    form = await request.form()
    if not csrf_matches(request.session.get("csrf"), str(form.get("csrf_token") or "")):
        raise CsrfFailed()
    task_service.get_visible(session=session, task_id=task_id, actor=actor)  # a hidden case answers 404 first
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return flash_redirect(request, f"/tasks/{task_id}#desk", "请选择要上传的文件")
    try:
        flows.attach(session, rt.settings, actor, task_id, upload.filename, upload.file,
                     str(form.get("note") or "")[:500] or None)
    except DomainError as exc:
        if exc.status_code not in (413, 422):
            raise
        return flash_redirect(request, f"/tasks/{task_id}#desk", exc.message_zh)
    return flash_redirect(request, f"/tasks/{task_id}#desk", "附件已上传")


@router.get("/instances/{instance_id}/print", response_class=HTMLResponse)
def print_sheet(request: Request, instance_id: int, session: SessionDep, actor: PageUser) -> Response:
    """The 审批单 of a case, on A4."""
    instance = task_service.get_visible_instance(session=session, instance_id=instance_id, actor=actor)
    sheet = service.approval_sheet(session=session, instance=instance)
    return render(request, "tasks/print.html", {**sheet, "printed_at": clock.now(),
                                                "back": service.case_link(session=session, instance_id=instance_id),
                                                "comments": service.comments(session=session,
                                                                             instance_id=instance_id)})
