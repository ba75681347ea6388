"""The designer's use cases: drafts, submission, four-eyes approval or return, rollback.

Each flow flushes and appends its audit events; the route commits them together.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from app.audit import service as audit
from app.core.clock import clock
from app.core.errors import Conflict, Forbidden, InvalidInput
from app.designer import service, validation
from app.designer.models import DraftStatus, ProcessDraft, ProcessSubmission, SubmissionStatus
from app.engine.bpmn import deployed_identity, parse_xml
from app.engine.errors import BpmnRejected
from app.engine.models import ProcessDefinition
from app.org.models import User
from app.org.service import Actor
from app.runtime import Runtime

MAX_COMMENT = 2000

NEW_PROCESS_XML = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
  id="Definitions_{key}" targetNamespace="http://govflow.example/bpmn">
  <bpmn:process id="{key}" name="{name}" isExecutable="true">
    <bpmn:startEvent id="start" name="开始"><bpmn:outgoing>flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="flow_1" sourceRef="start" targetRef="end" />
    <bpmn:endEvent id="end" name="结束"><bpmn:incoming>flow_1</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_{key}">
    <bpmndi:BPMNPlane id="BPMNPlane_{key}" bpmnElement="{key}">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="152" y="102" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="end_di" bpmnElement="end"><dc:Bounds x="352" y="102" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="flow_1_di" bpmnElement="flow_1">
        <di:waypoint x="188" y="120" /><di:waypoint x="352" y="120" />
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


# ---- helpers ----------------------------------------------------------------------------------


def _comment(text: str | None, *, required: bool = False) -> str | None:
    value = (text or "").strip()
    if required and not value:
        raise InvalidInput("退回时必须填写意见，说明需要修改的地方", code="comment_required")
    if len(value) > MAX_COMMENT:
        raise InvalidInput(f"意见不能超过 {MAX_COMMENT} 个字符", code="comment_too_long")
    return value or None


def _decode(xml: str | bytes) -> tuple[str, bytes]:
    if isinstance(xml, bytes):
        try:
            return xml.decode("utf-8"), xml
        except UnicodeDecodeError:
            raise InvalidInput("流程文件必须是 UTF-8 编码", code="bpmn_not_utf8") from None
    return xml, xml.encode("utf-8")


def _process_of(xml: bytes) -> tuple[str | None, str | None]:
    """Return (process key, name) the file deploys under: its executable process's, or its collaboration's
    (None when it deploys neither)."""
    identity = deployed_identity(parse_xml(xml))
    if identity is None:
        return None, None
    key, name = identity
    if len(key) > 128:
        raise InvalidInput("流程 id 不能超过 128 个字符", code="process_key_too_long")
    return key or None, name


def _latest(session: Session, process_key: str | None) -> tuple[int | None, str | None]:
    if not process_key:
        return None, None
    row = session.execute(
        select(ProcessDefinition.version, ProcessDefinition.content_hash)
        .where(ProcessDefinition.process_key == process_key)
        .order_by(ProcessDefinition.version.desc()).limit(1)).one_or_none()
    return (row[0], row[1]) if row else (None, None)


def _require_editor(draft: ProcessDraft, actor: Actor) -> None:
    """Only the owner or an administrator changes a draft; every designer may read it."""
    if draft.owner_id != actor.id and not actor.has_role("admin"):
        raise Forbidden("只有草稿的创建人或系统管理员可以修改、删除或提交该草稿", code="not_draft_owner")


def _require_editable(draft: ProcessDraft) -> None:
    if draft.status == DraftStatus.submitted.value:
        raise Conflict("该草稿正在审批中，不能修改；如需修改请等待审批结果", code="draft_under_review")


def _flush_draft(session: Session, draft: ProcessDraft) -> None:
    session.add(draft)
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("该草稿刚被他人修改，请刷新后重试", code="draft_changed") from None


def _refuse_problems(problems: list[dict[str, Any]]) -> None:
    if problems:
        raise BpmnRejected([(p["element_id"], p["message"], p["code"]) for p in problems])


# ---- drafts -----------------------------------------------------------------------------------


def create_draft(session: Session, rt: Runtime, actor: Actor, *, title: str | None = None,
                 process_key: str | None = None, from_version: int | None = None,
                 xml: str | bytes | None = None) -> ProcessDraft:
    """Start a draft from uploaded XML, from a deployed version's XML, or as a minimal new process."""
    service.require_designer(actor)
    now = clock.now()
    if xml is not None:
        text, raw = _decode(xml)
        problems, _ = validation.check(raw, rt.settings)
        key, name = _process_of(raw)
        base_version, _ = _latest(session, key)
        action, detail = "draft.uploaded", {"content_hash": hashlib.sha256(raw).hexdigest()}
    elif process_key is not None:
        version = from_version
        if version is None:
            version, _ = _latest(session, process_key)
            if version is None:
                raise InvalidInput(f"流程“{process_key}”尚未部署，不能从已部署版本创建草稿",
                                   code="process_not_found")
        raw = service.version_xml(session, process_key, version, actor)
        text, _ = _decode(raw)
        problems, _ = validation.check(raw, rt.settings)
        key, name = _process_of(raw)
        base_version = version
        action, detail = "draft.created_from_version", {"version": version}
    else:
        if from_version is not None:
            raise InvalidInput("指定版本时必须同时指定流程", code="process_key_required")
        key, name = f"process_{uuid.uuid4().hex[:8]}", (title or "新流程").strip() or "新流程"
        text = NEW_PROCESS_XML.format(key=key, name=_xml_attr(name))
        problems, _ = validation.check(text.encode("utf-8"), rt.settings)
        base_version = None
        action, detail = "draft.created", {}
    final_title = (title or "").strip()
    if len(final_title) > 200:
        raise InvalidInput("草稿标题不能超过 200 个字符", code="title_too_long")
    # A title taken from the file is cut to fit rather than refused.
    final_title = final_title or (f"{name or key} 修改稿" if base_version else (name or key or "新流程"))[:200]
    draft = ProcessDraft(title=final_title, process_key=key, base_version=base_version, bpmn_xml=text,
                         owner_id=actor.id, status=DraftStatus.editing.value, problems=problems,
                         created_at=now, updated_at=now)
    session.add(draft)
    session.flush()
    audit.append(session, at=now, actor=actor.username, action=action, entity_type="process_draft",
                 entity_id=draft.id or 0, detail={"title": draft.title, "process_key": key,
                                                  "base_version": base_version, **detail})
    return draft


def _xml_attr(value: str) -> str:
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;"))


def save_draft(session: Session, rt: Runtime, actor: Actor, draft_id: int, xml: str,
               lock_version: int) -> ProcessDraft:
    """Save a draft's XML with fresh problems (kept even with problems; never when malformed or hostile)."""
    draft = service.load_draft(session, draft_id, actor)
    _require_editor(draft, actor)
    _require_editable(draft)
    if lock_version != draft.lock_version:
        raise Conflict("该草稿已在别处保存过，您看到的不是最新内容；请刷新后重试", code="draft_changed",
                       extra={"lock_version": draft.lock_version})
    text, raw = _decode(xml)
    problems, _ = validation.check(raw, rt.settings)
    key, _ = _process_of(raw)
    draft.bpmn_xml = text
    draft.problems = problems
    draft.process_key = key
    draft.updated_at = clock.now()
    if draft.status == DraftStatus.approved.value:
        # Editing on after an approval starts the next change of the deployed version.
        draft.status = DraftStatus.editing.value
        draft.review_comment = None
    _flush_draft(session, draft)
    return draft


def delete_draft(session: Session, rt: Runtime, actor: Actor, draft_id: int) -> None:
    """Delete a draft that is not under review; its past submissions stay (without the link)."""
    draft = service.load_draft(session, draft_id, actor)
    _require_editor(draft, actor)
    _require_editable(draft)
    session.execute(update(ProcessSubmission).where(ProcessSubmission.draft_id == draft.id).values(draft_id=None))
    audit.append(session, at=clock.now(), actor=actor.username, action="draft.deleted", entity_type="process_draft",
                 entity_id=draft.id or 0, detail={"title": draft.title, "process_key": draft.process_key})
    session.delete(draft)
    session.flush()


# ---- submissions ------------------------------------------------------------------------------


def _create_submission(session: Session, actor: Actor, raw: bytes, *, draft: ProcessDraft | None,
                       comment: str | None, detail: dict[str, Any] | None = None) -> ProcessSubmission:
    key, _ = _process_of(raw)
    if key is None:
        raise BpmnRejected([(None, "文件中必须恰好有一个可执行流程", "parse")])
    content_hash = hashlib.sha256(raw).hexdigest()
    latest_version, latest_hash = _latest(session, key)
    if latest_hash == content_hash:
        raise Conflict(f"流程“{key}”的最新版本（第 {latest_version} 版）与此文件完全相同，无需提交",
                       code="same_as_latest")
    now = clock.now()
    sub = ProcessSubmission(draft_id=draft.id if draft else None, process_key=key, bpmn_xml=raw,
                            content_hash=content_hash, base_version=latest_version, submitted_by_id=actor.id,
                            submitted_at=now, comment=comment, status=SubmissionStatus.pending.value)
    session.add(sub)
    session.flush()
    audit.append(session, at=now, actor=actor.username, action="submission.created",
                 entity_type="process_submission", entity_id=sub.id or 0,
                 detail={"process_key": key, "draft_id": sub.draft_id, "content_hash": content_hash,
                         "base_version": latest_version, "comment": comment, **(detail or {})})
    return sub


def submit(session: Session, rt: Runtime, actor: Actor, draft_id: int, comment: str | None = None
           ) -> ProcessSubmission:
    """Submit a draft without problems for an administrator's approval (one pending submission per draft)."""
    draft = service.load_draft(session, draft_id, actor)
    _require_editor(draft, actor)
    _require_editable(draft)
    note = _comment(comment)
    raw = draft.bpmn_xml.encode("utf-8")
    problems, _ = validation.check(raw, rt.settings)
    _refuse_problems(problems)
    sub = _create_submission(session, actor, raw, draft=draft, comment=note)
    draft.status = DraftStatus.submitted.value
    draft.problems = []
    draft.review_comment = None
    _flush_draft(session, draft)
    return sub


def submit_xml(session: Session, rt: Runtime, actor: Actor, xml: str, *, filename: str | None = None
               ) -> ProcessSubmission:
    """Submit a whole BPMN file for approval (POST /api/processes): linted as a deploy is, then pending."""
    service.require_designer(actor)
    _, raw = _decode(xml)
    validation.guard(raw)
    rt.runner.check(raw)  # the deploy lint's own refusal, unchanged
    problems, _ = validation.check(raw, rt.settings)
    _refuse_problems(problems)
    return _create_submission(session, actor, raw, draft=None, comment=None,
                              detail={"filename": filename} if filename else None)


def _review(session: Session, actor: Actor, submission_id: int) -> ProcessSubmission:
    if not actor.has_role("admin"):
        raise Forbidden("只有系统管理员可以审批流程", code="role_required", extra={"roles": ["admin"]})
    sub = service.load_submission(session, submission_id, actor)
    if sub.status != SubmissionStatus.pending.value:
        raise Conflict("该提交已处理，不能再次审批", code="submission_closed", extra={"status": sub.status})
    if sub.submitted_by_id == actor.id:
        raise Forbidden("不能审批自己提交的流程（双人复核）：请由另一位系统管理员审批", code="own_submission")
    return sub


def _close(session: Session, sub: ProcessSubmission, actor: Actor, status: SubmissionStatus,
           comment: str | None) -> None:
    # Of two administrators deciding the same submission at once, only one UPDATE finds it pending.
    result = session.execute(update(ProcessSubmission).where(
        ProcessSubmission.id == sub.id, ProcessSubmission.status == SubmissionStatus.pending.value
    ).values(status=status.value).execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("该提交已处理，不能再次审批", code="submission_closed")
    sub.status = status.value
    sub.reviewed_by_id = actor.id
    sub.reviewed_at = clock.now()
    sub.review_comment = comment
    session.add(sub)


def approve(session: Session, rt: Runtime, actor: Actor, submission_id: int, comment: str | None = None
            ) -> ProcessSubmission:
    """Approve a submission (an administrator other than the submitter): deploy it as a new version."""
    sub = _review(session, actor, submission_id)
    note = _comment(comment)
    raw = bytes(sub.bpmn_xml)
    problems, _ = validation.check(raw, rt.settings)
    _refuse_problems(problems)
    _close(session, sub, actor, SubmissionStatus.approved, note)
    submitter = session.get(User, sub.submitted_by_id)
    definition = rt.runner.deploy_new_version(
        session, raw, filename=f"{sub.process_key}.bpmn", actor=submitter.username if submitter else "system",
        approved_by=actor.username, detail={"submission_id": sub.id})
    sub.deployed_definition_id = definition.id
    session.add(sub)
    now = clock.now()
    audit.append(session, at=now, actor=actor.username, action="submission.approved",
                 entity_type="process_submission", entity_id=sub.id or 0,
                 detail={"process_key": sub.process_key, "version": definition.version, "comment": note,
                         "submitted_by": submitter.username if submitter else None})
    if sub.draft_id is not None:
        draft = session.get(ProcessDraft, sub.draft_id)
        if draft is not None:
            draft.status = DraftStatus.approved.value
            draft.base_version = definition.version
            draft.review_comment = note
            draft.updated_at = now
            _flush_draft(session, draft)
    session.flush()
    return sub


def return_submission(session: Session, rt: Runtime, actor: Actor, submission_id: int, comment: str | None
                      ) -> ProcessSubmission:
    """Return a submission with a comment (an administrator other than the submitter); the draft is editable again."""
    sub = _review(session, actor, submission_id)
    note = _comment(comment, required=True)
    _close(session, sub, actor, SubmissionStatus.returned, note)
    now = clock.now()
    audit.append(session, at=now, actor=actor.username, action="submission.returned",
                 entity_type="process_submission", entity_id=sub.id or 0,
                 detail={"process_key": sub.process_key, "comment": note})
    if sub.draft_id is not None:
        draft = session.get(ProcessDraft, sub.draft_id)
        if draft is not None:
            draft.status = DraftStatus.returned.value
            draft.review_comment = note
            draft.updated_at = now
            draft.problems = validation.check(draft.bpmn_xml.encode("utf-8"), rt.settings)[0]
            _flush_draft(session, draft)
    session.flush()
    return sub


def redeploy(session: Session, rt: Runtime, actor: Actor, process_key: str, version: int) -> ProcessSubmission:
    """Submit an earlier version's file again (rollback): approved, it becomes a new version."""
    raw = service.version_xml(session, process_key, version, actor)
    problems, _ = validation.check(raw, rt.settings)
    _refuse_problems(problems)
    return _create_submission(session, actor, raw, draft=None,
                              comment=f"回滚：重新部署第 {version} 版", detail={"redeploy_of": version})
