"""Pages of the process designers (流程设计): the workspace, the modeler page of a draft, the review of a
submission (four eyes), a deployed version's diagram. The work itself is app.designer's; these pages
only show it and post to it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from app.core.errors import CsrfFailed, DomainError, Forbidden, InvalidInput, NotFound
from app.core.security import csrf_matches
from app.deps import RuntimeDep, SessionDep
from app.designer import flows, service
from app.designer.diff import LABELS, TYPE_ZH, elements
from app.designer.models import DRAFT_STATUS_ZH, SUBMISSION_STATUS_ZH, ProcessSubmission
from app.engine.models import ProcessDefinition
from app.org.models import ROLE_ZH, Role
from app.org.service import Actor
from app.web import FormData, PageUser
from app.web.render import flash_redirect, render

router = APIRouter(include_in_schema=False)

EDITABLE = ("editing", "returned")
PROCESS_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
UPLOAD_MAX_BYTES = 1024 * 1024  # as the draft API's own limit: a BPMN file is tens of kilobytes


def _designer(actor: Actor) -> None:
    if not actor.has_role("designer", "admin"):
        raise Forbidden("只有流程设计员和系统管理员可以访问流程设计", code="role_required")


def _names(processes: list[dict[str, Any]]) -> dict[str, str]:
    return {p["key"]: p["name"] for p in processes}


def _workspace(request: Request, session: SessionDep, actor: Actor, error: dict[str, Any] | None = None,
               status: int = 200) -> Response:
    processes = service.workspace(session, actor)
    drafts = sorted((d for p in processes for d in p.get("drafts", [])),
                    key=lambda d: str(d.get("updated_at") or ""), reverse=True)
    pending = sorted((s for p in processes for s in p.get("pending", [])),
                     key=lambda s: str(s.get("submitted_at") or ""))
    # Drafts of a process not deployed yet may come without a process of their own.
    return render(request, "designer/workspace.html", {
        "processes": [p for p in processes if p.get("versions")], "drafts": drafts, "pending": pending,
        "names": _names(processes), "is_admin": actor.has_role("admin"), "DRAFT_STATUS_ZH": DRAFT_STATUS_ZH,
        "error": error}, status=status)


@router.get("/designer", response_class=HTMLResponse)
def workspace(request: Request, session: SessionDep, actor: PageUser) -> Response:
    """Show every process with its versions, the drafts in progress and the versions awaiting approval."""
    _designer(actor)
    return _workspace(request, session, actor)


@router.post("/designer/drafts")
async def create_draft(request: Request, session: SessionDep, rt: RuntimeDep, actor: PageUser) -> Response:
    """Create a draft from a deployed version, as a new process, or from an uploaded .bpmn file."""
    form = await request.form()
    if not csrf_matches(request.session.get("csrf"), str(form.get("csrf_token") or "")):
        raise CsrfFailed()
    _designer(actor)
    mode = str(form.get("mode") or "")
    title = str(form.get("title") or "").strip()[:200] or None
    process_key = str(form.get("process_key") or "").strip() or None
    xml: str | None = None
    from_version: int | None = None
    try:
        if mode == "upload":
            upload = form.get("file")
            if upload is None or isinstance(upload, str) or not upload.filename:
                raise InvalidInput("请选择要上传的 .bpmn 文件", code="bpmn_file_missing")
            content = await upload.read(UPLOAD_MAX_BYTES + 1)
            await upload.close()
            if len(content) > UPLOAD_MAX_BYTES:
                raise InvalidInput("BPMN 文件过大（不能超过 1 MB）", code="bpmn_too_large")
            try:
                xml = content.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise InvalidInput("文件不是 UTF-8 编码的 BPMN 文件", code="bpmn_not_utf8") from None
            title = title or upload.filename.rsplit("/", 1)[-1].removesuffix(".bpmn")[:200]
        elif mode == "version":
            raw = str(form.get("from_version") or "")
            if not raw.isdigit() or not process_key:
                raise InvalidInput("请选择要基于的流程版本", code="version_required")
            from_version = int(raw)
        elif mode == "new":
            if not title:
                raise InvalidInput("请填写流程名称", code="title_required")
        else:
            raise InvalidInput("请选择新建草稿的方式", code="draft_mode_invalid")

        def create() -> int:  # database work: in the thread pool, not on the event loop
            key, new_xml = process_key, xml
            if mode == "new" and key:
                key, new_xml = None, _new_process(session, key, title or "")
            draft = flows.create_draft(session, rt, actor, title=title, process_key=key,
                                       from_version=from_version, xml=new_xml)
            session.commit()
            return draft.id or 0
        draft_id = await run_in_threadpool(create)
    except DomainError as exc:
        session.rollback()
        if exc.status_code in (403, 404):
            raise
        return await run_in_threadpool(_workspace, request, session, actor, exc.to_detail(), exc.status_code)
    return flash_redirect(request, f"/designer/drafts/{draft_id}", "草稿已创建，可以开始编辑")


def _new_process(session: SessionDep, process_key: str, title: str) -> str:
    """The minimal new process under the id the designer chose (not one already deployed)."""
    if not PROCESS_ID.fullmatch(process_key):
        raise InvalidInput("流程标识须以英文字母或下划线开头，只含英文字母、数字和下划线，不超过 64 个字符",
                           code="process_key_invalid")
    taken = session.execute(select(ProcessDefinition.name).where(
        ProcessDefinition.process_key == process_key).limit(1)).scalar_one_or_none()
    if taken is not None:
        raise InvalidInput(f"流程标识“{process_key}”已被“{taken}”使用：要修改该流程，请在它的版本上新建草稿",
                           code="process_key_taken")
    name = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return flows.NEW_PROCESS_XML.format(key=process_key, name=name)


@router.get("/designer/drafts/{draft_id}", response_class=HTMLResponse)
def draft_page(request: Request, draft_id: int, session: SessionDep, rt: RuntimeDep,
               actor: PageUser) -> Response:
    """The modeler: canvas, GovFlow properties, problems, scenario runs, save and submit."""
    _designer(actor)
    draft = service.get_draft(session, draft_id, actor)
    # Every designer may read any draft; its owner (or an administrator) changes it while not under review.
    mine = draft["owner"] == actor.username or actor.has_role("admin")
    readonly = draft["status"] not in EDITABLE or not mine
    data = {key: draft.get(key) for key in ("id", "title", "process_key", "base_version", "status", "xml",
                                            "problems", "system_bound", "lock_version")}
    data["vocabulary"] = service.vocabulary(rt.settings)
    submission_id = None
    if draft["status"] == "submitted":
        submission_id = session.execute(select(ProcessSubmission.id).where(
            ProcessSubmission.draft_id == draft_id, ProcessSubmission.status == "pending")).scalars().first()
    return render(request, "designer/draft.html", {
        "draft": draft, "draft_data": data, "readonly": readonly, "mine": mine,
        "submission_id": submission_id,
        "DRAFT_STATUS_ZH": DRAFT_STATUS_ZH})


@router.post("/designer/drafts/{draft_id}/delete")
def delete_draft(request: Request, draft_id: int, session: SessionDep, rt: RuntimeDep, actor: PageUser,
                 form: FormData) -> Response:
    """Delete a draft still being edited."""
    _designer(actor)
    try:
        flows.delete_draft(session, rt, actor, draft_id)
        session.commit()
    except DomainError as exc:
        session.rollback()
        if exc.status_code in (403, 404):
            raise
        return _workspace(request, session, actor, error=exc.to_detail(), status=exc.status_code)
    return flash_redirect(request, "/designer", "草稿已删除")


@router.post("/designer/processes/{process_key}/versions/{version}/redeploy")
def redeploy(request: Request, process_key: str, version: int, session: SessionDep, rt: RuntimeDep,
             actor: PageUser, form: FormData) -> Response:
    """Roll back: submit an earlier version's XML for approval as a new version (four eyes too)."""
    _designer(actor)
    try:
        submission = flows.redeploy(session, rt, actor, process_key, version)
        session.commit()
    except DomainError as exc:
        session.rollback()
        if exc.status_code in (403, 404):
            raise
        return _workspace(request, session, actor, error=exc.to_detail(), status=exc.status_code)
    return flash_redirect(request, f"/designer/submissions/{submission.id}",
                          "已提交将第{version}版重新部署为新版本的申请，须由另一位系统管理员批准", version=version)


@router.get("/designer/processes/{process_key}/versions/{version}", response_class=HTMLResponse)
def version_page(request: Request, process_key: str, version: int, session: SessionDep,
                 actor: PageUser) -> Response:
    """A deployed version's diagram, with what changed since the version before it."""
    _designer(actor)
    definition = session.execute(select(ProcessDefinition).where(
        ProcessDefinition.process_key == process_key, ProcessDefinition.version == version)
    ).scalar_one_or_none()
    if definition is None:
        raise NotFound("流程版本不存在", code="process_version_not_found")
    return render(request, "designer/version.html", {
        "process_key": process_key, "version": version, "name": definition.name,
        "deployed_by": definition.deployed_by, "deployed_at": definition.deployed_at})


@router.get("/designer/submissions", response_class=HTMLResponse)
def submissions(request: Request, session: SessionDep, actor: PageUser, status: str = "pending") -> Response:
    """List the submissions, the pending ones first."""
    _designer(actor)
    if status not in ("pending", "approved", "returned", "all"):
        status = "pending"
    rows = service.list_submissions(session, actor, status=None if status == "all" else status)
    return render(request, "designer/submissions.html", {
        "rows": rows, "status": status, "names": _names(service.workspace(session, actor)),
        "is_admin": actor.has_role("admin"), "SUBMISSION_STATUS_ZH": SUBMISSION_STATUS_ZH})


def _readable(name: str, value: Any) -> Any:
    """A property value as a reviewer reads it: role names, working days (the raw value beside)."""
    if value is None:
        return None
    text = str(value)
    if name == "candidateGroups":
        names = [ROLE_ZH[Role(r)] if r in Role.__members__ else r for r in text.split(",") if r.strip()]
        return f"{'、'.join(names)}（{text}）"
    days = re.fullmatch(r"(\d+)WD", text)
    if name == "dueDate" and days:
        return f"{int(days.group(1))} 个工作日（{text}）"
    return text


def _change_rows(submission: dict[str, Any]) -> list[dict[str, Any]]:
    """The diff as table rows: what an added or removed element carries, each changed property."""
    new = elements(submission["xml"].encode("utf-8"))
    old = elements(submission["base_xml"].encode("utf-8")) if submission.get("base_xml") else {}

    def title(entry: dict[str, Any], side: dict[str, Any]) -> str:
        if entry.get("name"):
            return str(entry["name"])
        props = side.get(entry["id"], ("", {}))[1]
        if entry["type"] == "sequenceFlow" and props.get("sourceRef"):
            # A flow without a name is known by the steps it joins.
            ends = [side.get(props.get(end) or "", ("", {}))[1].get("name") or props.get(end)
                    for end in ("sourceRef", "targetRef")]
            return f"{ends[0]} → {ends[1]}"
        return str(entry["id"])

    def carried(props: dict[str, Any], key: str) -> list[dict[str, Any]]:
        skip = ("name", "type", "sourceRef", "targetRef")
        return [{"name": name, "label": label, key: _readable(name, props[name])} for name, label in LABELS
                if name not in skip and props.get(name) is not None]

    diff = submission["diff"]
    rows = [{"change": "added", "title": title(e, new), "type": e["type"],
             "properties": carried(new.get(e["id"], ("", {}))[1], "new")} for e in diff["added"]]
    rows += [{"change": "removed", "title": title(e, old), "type": e["type"],
              "properties": carried(old.get(e["id"], ("", {}))[1], "old")} for e in diff["removed"]]
    rows += [{"change": "changed", "title": title(e, new), "type": e["type"],
              "properties": [{**p, "old": _readable(p["name"], p["old"]), "new": _readable(p["name"], p["new"])}
                             for p in e.get("properties") or []]} for e in diff["changed"]]
    return rows


def _submission_page(request: Request, session: SessionDep, rt: RuntimeDep, actor: Actor, submission_id: int,
                     error: dict[str, Any] | None = None, status: int = 200) -> Response:
    submission = service.get_submission(session, submission_id, actor, rt.settings)
    names = {p["key"]: p["name"] for p in service.workspace(session, actor)}
    may_review = (submission["status"] == "pending" and actor.has_role("admin")
                  and submission["submitted_by"] != actor.username)
    return render(request, "designer/submission.html", {
        "s": submission, "names": names, "may_review": may_review, "error": error,
        "rows": _change_rows(submission),
        "diff_data": {"xml": submission["xml"], "base_xml": submission.get("base_xml"),
                      "diff": submission["diff"]},
        "SUBMISSION_STATUS_ZH": SUBMISSION_STATUS_ZH, "TYPE_ZH": TYPE_ZH}, status=status)


@router.get("/designer/submissions/{submission_id}", response_class=HTMLResponse)
def submission_page(request: Request, submission_id: int, session: SessionDep, rt: RuntimeDep,
                    actor: PageUser) -> Response:
    """Review a submission: the diff drawn and listed; an administrator other than the submitter decides."""
    _designer(actor)
    return _submission_page(request, session, rt, actor, submission_id)


def _decide(request: Request, session: SessionDep, rt: RuntimeDep, actor: Actor, submission_id: int,
            decide: Callable[..., ProcessSubmission], comment: str, done: Callable[[ProcessSubmission], str]
            ) -> Response:
    """Run an administrator's decision on a submission; refusals re-render the review page."""
    _designer(actor)
    try:
        sub = decide(session, rt, actor, submission_id, comment)
        session.commit()
    except DomainError as exc:
        session.rollback()
        if exc.status_code in (403, 404):
            raise
        return _submission_page(request, session, rt, actor, submission_id, error=exc.to_detail(),
                                status=exc.status_code)
    return flash_redirect(request, f"/designer/submissions/{submission_id}", done(sub))


def _deployed(sub: ProcessSubmission, session: SessionDep) -> str:
    version = session.execute(select(ProcessDefinition.version).where(
        ProcessDefinition.id == sub.deployed_definition_id)).scalar_one_or_none()
    return f"已批准并部署为第{version}版" if version else "已批准并部署"


@router.post("/designer/submissions/{submission_id}/approve")
def approve(request: Request, submission_id: int, session: SessionDep, rt: RuntimeDep, actor: PageUser,
            form: FormData) -> Response:
    """批准并部署: deploy the submission as the process's next version."""
    return _decide(request, session, rt, actor, submission_id, flows.approve, str(form.get("comment") or ""),
                   lambda sub: _deployed(sub, session))


@router.post("/designer/submissions/{submission_id}/return")
def return_submission(request: Request, submission_id: int, session: SessionDep, rt: RuntimeDep,
                      actor: PageUser, form: FormData) -> Response:
    """退回 with a comment: the draft goes back to its designer."""
    return _decide(request, session, rt, actor, submission_id, flows.return_submission,
                   str(form.get("comment") or ""), lambda sub: "已退回，设计员将看到您的意见")


__all__ = ["router"]
