"""The approval desk: 抄送/待阅, 催办, 常用意见, 批量办理, tab counts, saved filters, people, comments, attachments."""

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile
from pydantic import BaseModel, Field

from app.attachments import service as attachment_service
from app.core.clock import clock
from app.deps import CurrentUser, RuntimeDep, SessionDep
from app.desk import flows, service
from app.tasks import service as task_service
from app.tasks.paging import capped_counts, count_label

router = APIRouter(tags=["desk"])


class CopyBody(BaseModel):
    user_ids: list[int] = Field(min_length=1, max_length=50, description="抄送人（用户编号）")
    note: str = Field(default="", max_length=500, description="附言")


@router.post("/instances/{instance_id}/copies", status_code=201)
def copy_case(instance_id: int, body: CopyBody, session: SessionDep, actor: CurrentUser) -> dict[str, Any]:
    """抄送 a case one may read to colleagues; they may then read it (and only it)."""
    names = flows.copy_case(session, actor, instance_id, body.user_ids, body.note)
    return {"copied": names, "recipients": service.copy_recipients(session=session, instance_id=instance_id)}


@router.get("/me/copies")
def my_copies(session: SessionDep, actor: CurrentUser,
              read: bool | None = Query(None, description="true 只看已阅，false 只看待阅"),
              limit: int = Query(100, ge=1, le=500), offset: int = Query(0, ge=0),
              cursor: str | None = Query(None, description="上一页返回的 next_cursor（不透明的分页游标）")
              ) -> dict[str, Any]:
    """List 抄送我的 (cases copied to me), newest first, one page at a time, with the unread count (at most 100)."""
    items, next_cursor = service.copies_for(session=session, actor=actor, read=read, limit=limit, offset=offset,
                                            cursor=cursor)
    unread = service.count_unread_copies(session=session, actor=actor)
    return {"items": items, "unread": unread, "unread_label": count_label(unread), "next_cursor": next_cursor}


@router.post("/me/copies/{copy_id}/read")
def mark_copy_read(copy_id: int, session: SessionDep, actor: CurrentUser) -> dict[str, Any]:
    """Mark a copy 已阅."""
    changed = flows.mark_read(session, actor, copy_id=copy_id)
    return {"changed": changed, "unread": service.count_unread_copies(session=session, actor=actor)}


@router.post("/tasks/{task_id}/urge")
def urge(task_id: int, session: SessionDep, rt: RuntimeDep, actor: CurrentUser) -> dict[str, Any]:
    """催办: the applicant reminds whoever holds an open task of their case (once per working day)."""
    return flows.urge(session, actor, rt.calendar.get(session), task_id)


class PhraseBody(BaseModel):
    text: str = Field(min_length=1, max_length=200, description="意见内容")


class PhraseUpdate(BaseModel):
    text: str | None = Field(default=None, min_length=1, max_length=200)
    position: int | None = Field(default=None, ge=0, le=1000)


@router.get("/me/phrases")
def list_phrases(session: SessionDep, actor: CurrentUser) -> dict[str, Any]:
    """List my 常用意见; `offered` is what the task form shows (the defaults when I saved none)."""
    return {"items": [service.phrase_public(p) for p in service.phrases(session=session, actor=actor)],
            "offered": service.phrase_texts(session=session, actor=actor)}


@router.post("/me/phrases", status_code=201)
def add_phrase(body: PhraseBody, session: SessionDep, actor: CurrentUser) -> dict[str, Any]:
    """Save a phrase."""
    return service.phrase_public(flows.add_phrase(session, actor, body.text))


@router.put("/me/phrases/{phrase_id}")
def update_phrase(phrase_id: int, body: PhraseUpdate, session: SessionDep, actor: CurrentUser) -> dict[str, Any]:
    """Change a phrase's text or position."""
    return service.phrase_public(flows.update_phrase(session, actor, phrase_id, body.text, body.position))


@router.delete("/me/phrases/{phrase_id}", status_code=204)
def delete_phrase(phrase_id: int, session: SessionDep, actor: CurrentUser) -> None:
    """Delete a phrase."""
    flows.delete_phrase(session, actor, phrase_id)


class BatchBody(BaseModel):
    task_ids: list[int] = Field(min_length=1, max_length=100)
    decision: str = Field(min_length=1, max_length=64, description="审批结论（选项编号，如 approve）")
    opinion: str = Field(default="", max_length=2000, description="审批意见")


@router.post("/tasks/batch-complete")
def batch_complete(body: BatchBody, session: SessionDep, rt: RuntimeDep, actor: CurrentUser) -> dict[str, Any]:
    """批量办理: complete the tasks with one decision and opinion, each on its own; list failures with reasons."""
    results = flows.batch_complete(session, rt.runner, actor, body.task_ids, body.decision, body.opinion)
    return {"results": results, "completed": sum(r["ok"] for r in results),
            "failed": sum(not r["ok"] for r in results)}


@router.get("/me/inbox-counts")
def inbox_counts(session: SessionDep, actor: CurrentUser) -> dict[str, Any]:
    """Count each inbox tab: 待办, 已办, 我发起的, 抄送我的 (unread).

    Each count reads at most 100 rows: 100 means "more than 99", and `labels` gives each as shown ("99+").
    """
    todo = task_service.todo_queries(actor)
    *todo_counts, done, initiated, cc_unread = capped_counts(  # one round trip
        session, *todo, task_service.done_query(actor), task_service.initiated_query(actor),
        service.unread_copies_query(actor))
    counts = {"todo": task_service.todo_total(todo_counts), "done": done, "initiated": initiated,
              "cc_unread": cc_unread}
    return {**counts, "labels": {k: count_label(v) for k, v in counts.items()}}


class FilterBody(BaseModel):
    name: str = Field(min_length=1, max_length=50)
    query: str = Field(min_length=1, max_length=1000, description="收件箱的查询串，如 view=todo&process_key=…")
    shared: bool = Field(default=False, description="共享给本部门")


@router.get("/me/filters")
def list_filters(session: SessionDep, actor: CurrentUser) -> list[dict[str, Any]]:
    """List my saved inbox filters and my department's shared ones."""
    return [service.filter_public(f, actor) for f in service.saved_filters(session=session, actor=actor)]


@router.post("/me/filters", status_code=201)
def save_filter(body: FilterBody, session: SessionDep, actor: CurrentUser) -> dict[str, Any]:
    """Save an inbox filter."""
    return service.filter_public(flows.save_filter(session, actor, body.name, body.query, body.shared), actor)


@router.delete("/me/filters/{filter_id}", status_code=204)
def delete_filter(filter_id: int, session: SessionDep, actor: CurrentUser) -> None:
    """Delete a filter I saved."""
    flows.delete_filter(session, actor, filter_id)


@router.get("/people")
def people(session: SessionDep, actor: CurrentUser) -> list[dict[str, Any]]:
    """List active people by department (the pickers: names, never usernames)."""
    return service.people(session=session)


class CommentBody(BaseModel):
    body: str = Field(min_length=1, max_length=2000)


@router.get("/tasks/{task_id}/comments")
def list_comments(task_id: int, session: SessionDep, actor: CurrentUser) -> list[dict[str, Any]]:
    """List the comments on a task's case."""
    _, instance = task_service.get_visible(session=session, task_id=task_id, actor=actor)
    return service.comments(session=session, instance_id=instance.id or 0)


@router.post("/tasks/{task_id}/comments", status_code=201)
def add_comment(task_id: int, body: CommentBody, session: SessionDep, actor: CurrentUser) -> dict[str, Any]:
    """Comment on a task's case (anyone who may read it)."""
    row = flows.comment(session, actor, task_id, body.body)
    return next(c for c in service.comments(session=session, instance_id=row.instance_id) if c["id"] == row.id)


@router.get("/tasks/{task_id}/attachments")
def list_task_attachments(task_id: int, session: SessionDep, actor: CurrentUser) -> list[dict[str, Any]]:
    """List the files attached to a task's case."""
    _, instance = task_service.get_visible(session=session, task_id=task_id, actor=actor)
    return flows.case_attachments(session, instance.id or 0)


@router.post("/tasks/{task_id}/attachments", status_code=201)
def add_task_attachment(task_id: int, session: SessionDep, rt: RuntimeDep, actor: CurrentUser,
                        file: Annotated[UploadFile, File()],
                        note: Annotated[str | None, Form(max_length=500)] = None) -> dict[str, Any]:
    """Attach a file to a task's case (PDF, OFD, JPG, PNG, DOCX, XLSX; size limited)."""
    row = flows.attach(session, rt.settings, actor, task_id, file.filename or "", file.file, note)
    return attachment_service.public(row)


@router.get("/instances/{instance_id}/sheet")
def approval_sheet(instance_id: int, session: SessionDep, actor: CurrentUser) -> dict[str, Any]:
    """Return the 审批单 of a case: process, initiator, each step's signer, decision, opinion and time."""
    instance = task_service.get_visible_instance(session=session, instance_id=instance_id, actor=actor)
    sheet = service.approval_sheet(session=session, instance=instance)
    steps = [{**s, "completed_at": s["completed_at"].isoformat() if s["completed_at"] else None,
              "created_at": s["created_at"].isoformat()} for s in sheet["steps"]]
    return {"instance_id": instance.id, "subject": instance.subject, "process_name": sheet["process_name"],
            "initiator": sheet["initiator"], "department": sheet["department"], "steps": steps,
            "printed_at": clock.now().isoformat()}
