"""The process designer's API: workspace, drafts, validation, four-eyes submissions, versions, diff."""

import re
from typing import Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from app.deps import AdminUser, DesignerUser, RuntimeDep, SessionDep
from app.designer import flows, service, validation

router = APIRouter(prefix="/designer", tags=["designer"])

# A path segment that is a process id (BPMN ids are NCNames; ours are <area>_<process>).
PROCESS_KEY = r"^[A-Za-z_][\w.\-]{0,127}$"


class DraftCreate(BaseModel):
    title: str | None = Field(default=None, max_length=200)
    process_key: str | None = Field(default=None, max_length=128, pattern=PROCESS_KEY)
    from_version: int | None = Field(default=None, ge=1, le=1_000_000)
    xml: str | None = Field(default=None, min_length=1)


class DraftSave(BaseModel):
    xml: str = Field(min_length=1)
    lock_version: int = Field(ge=0, le=2**31 - 1)


class XmlBody(BaseModel):
    xml: str = Field(min_length=1)


class CommentBody(BaseModel):
    comment: str | None = Field(default=None, max_length=2000)


def _submission(session: SessionDep, rt: RuntimeDep, submission_id: int, actor: Any) -> dict[str, Any]:
    return service.get_submission(session, submission_id, actor, rt.settings)


@router.get("/vocabulary")
def vocabulary(rt: RuntimeDep, actor: DesignerUser) -> dict[str, Any]:
    """Return the candidate roles, statutory limits, form field types and system-bound elements."""
    return service.vocabulary(rt.settings)


@router.get("/processes")
def workspace(session: SessionDep, actor: DesignerUser) -> list[dict[str, Any]]:
    """List every process with its versions and instance counts, its drafts and pending submissions."""
    return service.workspace(session, actor)


@router.get("/processes/{process_key}/diff")
def version_diff(process_key: str, session: SessionDep, actor: DesignerUser,
                 from_version: int = Query(ge=1, le=1_000_000),
                 to_version: int = Query(ge=1, le=1_000_000)) -> dict[str, Any]:
    """Compare two deployed versions element by element."""
    return service.version_diff(session, process_key, from_version, to_version, actor)


@router.post("/processes/{process_key}/versions/{version}/redeploy", status_code=202)
def redeploy(process_key: str, version: int, session: SessionDep, rt: RuntimeDep,
             actor: DesignerUser) -> dict[str, Any]:
    """Submit an earlier version's file again for approval (rollback = a new version with the old file)."""
    sub = flows.redeploy(session, rt, actor, process_key, version)
    session.commit()
    return _submission(session, rt, sub.id or 0, actor)


@router.post("/drafts", status_code=201)
def create_draft(body: DraftCreate, session: SessionDep, rt: RuntimeDep, actor: DesignerUser) -> dict[str, Any]:
    """Start a draft: from uploaded XML, from a deployed version, or a minimal new process."""
    draft = flows.create_draft(session, rt, actor, title=body.title, process_key=body.process_key,
                               from_version=body.from_version, xml=body.xml)
    session.commit()
    return service.draft_public(session, draft)


@router.get("/drafts/{draft_id}")
def get_draft(draft_id: int, session: SessionDep, actor: DesignerUser) -> dict[str, Any]:
    """Return a draft with its XML, the problems of its last save and its system-bound elements."""
    return service.get_draft(session, draft_id, actor)


@router.put("/drafts/{draft_id}")
def save_draft(draft_id: int, body: DraftSave, session: SessionDep, rt: RuntimeDep,
               actor: DesignerUser) -> dict[str, Any]:
    """Save a draft's XML (kept even with problems); a stale lock_version is a 409."""
    draft = flows.save_draft(session, rt, actor, draft_id, body.xml, body.lock_version)
    session.commit()
    return service.draft_public(session, draft)


@router.delete("/drafts/{draft_id}", status_code=204)
def delete_draft(draft_id: int, session: SessionDep, rt: RuntimeDep, actor: DesignerUser) -> Response:
    """Delete a draft that is not under review."""
    flows.delete_draft(session, rt, actor, draft_id)
    session.commit()
    return Response(status_code=204)


@router.get("/drafts/{draft_id}/download")
def download_draft(draft_id: int, session: SessionDep, actor: DesignerUser) -> Response:
    """Download a draft as a .bpmn file."""
    draft = service.load_draft(session, draft_id, actor)
    # The process id comes from the file: only safe characters reach the header.
    name = re.sub(r"[^\w.\-]", "_", f"{draft.process_key or 'draft'}-draft{draft.id}.bpmn", flags=re.ASCII)
    return Response(draft.bpmn_xml.encode("utf-8"), media_type="application/xml",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/drafts/{draft_id}/submit", status_code=201)
def submit_draft(draft_id: int, session: SessionDep, rt: RuntimeDep, actor: DesignerUser,
                 body: CommentBody | None = None) -> dict[str, Any]:
    """Submit a draft without problems for an administrator's approval."""
    sub = flows.submit(session, rt, actor, draft_id, body.comment if body else None)
    session.commit()
    return _submission(session, rt, sub.id or 0, actor)


@router.post("/validate")
def validate(body: XmlBody, rt: RuntimeDep, actor: DesignerUser) -> dict[str, Any]:
    """Check a BPMN file as a deploy would, without saving anything."""
    problems, bound = validation.check(body.xml.encode("utf-8"), rt.settings)
    return {"problems": problems, "system_bound": bound}


@router.get("/submissions")
def list_submissions(session: SessionDep, actor: DesignerUser,
                     status: Literal["pending", "approved", "returned"] | None = None) -> list[dict[str, Any]]:
    """List submissions, newest first."""
    return service.list_submissions(session, actor, status)


@router.get("/submissions/{submission_id}")
def get_submission(submission_id: int, session: SessionDep, rt: RuntimeDep,
                   actor: DesignerUser) -> dict[str, Any]:
    """Return a submission with its XML, the current version's XML and the diff between them."""
    return _submission(session, rt, submission_id, actor)


@router.post("/submissions/{submission_id}/approve")
def approve(submission_id: int, session: SessionDep, rt: RuntimeDep, actor: AdminUser,
            body: CommentBody | None = None) -> dict[str, Any]:
    """Approve (an administrator other than the submitter): the file is deployed as a new version."""
    flows.approve(session, rt, actor, submission_id, body.comment if body else None)
    session.commit()
    return _submission(session, rt, submission_id, actor)


@router.post("/submissions/{submission_id}/return")
def return_submission(submission_id: int, body: CommentBody, session: SessionDep, rt: RuntimeDep,
                      actor: AdminUser) -> dict[str, Any]:
    """Return with a comment (an administrator other than the submitter); the draft is editable again."""
    flows.return_submission(session, rt, actor, submission_id, body.comment)
    session.commit()
    return _submission(session, rt, submission_id, actor)
